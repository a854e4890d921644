/* test_simt_race.cpp: a test of the test tool. tests/simt/race.cu is a block reduction
 * built twice under ThreadSanitizer (make: $BUILD/tests/simt/race_bad without its first
 * __syncthreads(), race_good with it). ThreadSanitizer must report a data race in the
 * reduction of race_bad, and nothing in race_good, whose sums must be right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
extern "C" {
#include <cmocka.h>
}

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>

static std::string dir_of_me;

/* Runs prog with TSan's report exit code 66; returns the exit status and the output. */
static int run(const char *prog, std::string &out) {
    std::string path = dir_of_me + "/simt/" + prog;
    std::string cmd = "TSAN_OPTIONS='exitcode=66 halt_on_error=0' " + path + " 2>&1";
    FILE *f = popen(cmd.c_str(), "r");
    assert_non_null(f);
    char buf[4096];
    size_t n;
    out.clear();
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_missing_syncthreads_is_a_race(void **state) {
    (void)state;
    std::string out;
    int rc = run("race_bad", out);
    if (out.find("WARNING: ThreadSanitizer: data race") == std::string::npos || rc != 66) {
        fprintf(stderr, "race_bad (rc %d) output:\n%s\n", rc, out.c_str());
        fail_msg("ThreadSanitizer did not report the missing __syncthreads()");
    }
    assert_true(out.find("block_sum_kernel") != std::string::npos); /* in the kernel itself */
    assert_true(out.find("race.cu") != std::string::npos);
}

static void test_fixed_reduction_is_clean(void **state) {
    (void)state;
    std::string out;
    int rc = run("race_good", out);
    if (rc != 0 || out.find("ThreadSanitizer") != std::string::npos) {
        fprintf(stderr, "race_good (rc %d) output:\n%s\n", rc, out.c_str());
        fail_msg("the fixed reduction was flagged or summed wrong");
    }
    assert_true(out.find("sums 256 256") != std::string::npos);
}

int main(int argc, char **argv) {
    (void)argc;
    std::string me = argv[0];
    size_t slash = me.rfind('/');
    dir_of_me = slash == std::string::npos ? "." : me.substr(0, slash);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_syncthreads_is_a_race),
        cmocka_unit_test(test_fixed_reduction_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
