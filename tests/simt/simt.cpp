/* simt.cpp: the SIMT simulator's launch and its two executors, barriers, warp exchange and
 * runtime (simt.h).
 *
 * A launch runs the blocks of its grid one after another; the threads of a block run on
 * one of two executors (simt::set_executor, BD_SIMT_EXECUTOR):
 * - fibers (the default): every thread of the block is a user-level context on the
 *   launching OS thread. Their stacks and contexts are made once per OS thread (a pool of
 *   up to 1024, each stack mmap'd with a guard page below it) and kept: a fiber loops over
 *   the blocks of every launch that thread makes. A barrier arrival that does not release
 *   the barrier switches to the next runnable fiber in thread-id order (round robin); the
 *   last arrival releases it and goes on. No locks and no system calls, and the order is
 *   deterministic. When no unfinished fiber can go on (every one waits at a barrier that
 *   cannot release), the kernel deadlocked: a message on stderr and abort().
 * - threads: every thread of the block is an OS thread (from a pool kept across launches),
 *   synchronising through futex barriers. The default under ThreadSanitizer: its race
 *   test (tests/test_simt_race.cpp) wants the threads of a block to be threads. Fibers
 *   work under ThreadSanitizer too (its fiber API; BD_SIMT_EXECUTOR=fibers), and a
 *   missing __syncthreads() is still a data race there (tests/test_simt_self.cpp).
 * Both give the same barrier semantics: a barrier releases when every participant that
 * has not returned from the kernel has arrived (a thread that returns leaves it). One
 * launch runs at a time: launches from several host threads take turns. */
#include "simt.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SIMT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define SIMT_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIMT_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define SIMT_TSAN 1
#endif
#endif

#ifdef SIMT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef SIMT_TSAN
#include <sanitizer/tsan_interface.h>
extern "C" void __tsan_ignore_thread_begin(void);
extern "C" void __tsan_ignore_thread_end(void);
#endif

/* The fibers' context switch: a few instructions of our own on x86-64; elsewhere (or with
 * -DBD_SIMT_UCONTEXT) swapcontext, which also saves and restores the signal mask, a
 * system call per switch. */
#if defined(__x86_64__) && !defined(BD_SIMT_UCONTEXT)
#define SIMT_ASM_SWITCH 1
#else
#define SIMT_ASM_SWITCH 0
#include <ucontext.h>
#endif

thread_local uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

#if SIMT_ASM_SWITCH
/* Saves the callee-saved registers on the current stack, stores the stack pointer in
 * *save, loads `load` and pops that context's registers; the ret goes on where it
 * switched away (or, the first time, into the fiber's entry, see make_fiber). The x87
 * and SSE control words are not switched: nothing in a kernel changes them. */
extern "C" void bd_simt_switch(void **save, void *load);
__asm__(".pushsection .text\n"
        ".p2align 4\n"
        ".globl bd_simt_switch\n"
        ".hidden bd_simt_switch\n"
        ".type bd_simt_switch, @function\n"
        "bd_simt_switch:\n"
        ".cfi_startproc\n"
        "pushq %rbp\n.cfi_adjust_cfa_offset 8\n"
        "pushq %rbx\n.cfi_adjust_cfa_offset 8\n"
        "pushq %r12\n.cfi_adjust_cfa_offset 8\n"
        "pushq %r13\n.cfi_adjust_cfa_offset 8\n"
        "pushq %r14\n.cfi_adjust_cfa_offset 8\n"
        "pushq %r15\n.cfi_adjust_cfa_offset 8\n"
        "movq %rsp, (%rdi)\n"
        "movq %rsi, %rsp\n"
        "popq %r15\n.cfi_adjust_cfa_offset -8\n"
        "popq %r14\n.cfi_adjust_cfa_offset -8\n"
        "popq %r13\n.cfi_adjust_cfa_offset -8\n"
        "popq %r12\n.cfi_adjust_cfa_offset -8\n"
        "popq %rbx\n.cfi_adjust_cfa_offset -8\n"
        "popq %rbp\n.cfi_adjust_cfa_offset -8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size bd_simt_switch, .-bd_simt_switch\n"
        ".popsection\n");
#endif

namespace simt {

/* ---- the threads executor's barrier ---- */
/* A barrier of a changing number of participants: a thread that returns from the
 * kernel leaves (drop), so the others' __syncthreads() no longer waits for it.
 * Arrivals count under a mutex; waiters sleep on a futex over the generation, which the
 * last arrival bumps with a release store (so ThreadSanitizer sees every arrival's
 * writes happen before every waiter's reads) and wakes in one call, without the
 * mutex hand-off chain of a condition variable's notify_all. */
struct Barrier {
    std::mutex m;
    int expected = 0, count = 0;
    std::atomic<uint32_t> gen{0};
    void reset(int n) {
        std::lock_guard<std::mutex> l(m);
        expected = n;
        count = 0;
    }
    void release_locked(uint32_t g) {
        count = 0;
        gen.store(g + 1, std::memory_order_release);
        syscall(SYS_futex, reinterpret_cast<uint32_t *>(&gen), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
    }
    /* done, when given, runs in the last arrival before anyone is released */
    void wait(const std::function<void()> *done = nullptr) {
        std::unique_lock<std::mutex> l(m);
        const uint32_t g = gen.load(std::memory_order_relaxed);
        if (++count >= expected) {
            if (done) (*done)();
            release_locked(g);
            return;
        }
        l.unlock();
        /* yield first: the threads this one waits for are runnable, and on a few cores
         * handing them the CPU is much cheaper than sleeping and being woken */
        for (int i = 0; i < 64; i++) {
            if (gen.load(std::memory_order_acquire) != g) return;
            sched_yield();
        }
        while (gen.load(std::memory_order_acquire) == g)
            syscall(SYS_futex, reinterpret_cast<uint32_t *>(&gen), FUTEX_WAIT_PRIVATE, g, nullptr, nullptr, 0);
    }
    void drop() {
        std::lock_guard<std::mutex> l(m);
        expected--;
        if (count > 0 && count >= expected) release_locked(gen.load(std::memory_order_relaxed));
    }
};

/* ---- the fibers executor's barrier ---- */
/* The same semantics without concurrency: only the running fiber touches it. A waiter
 * records the generation it arrived in and is runnable again once gen has moved on. */
struct FBar {
    int expected = 0, count = 0;
    unsigned gen = 0;
#ifdef SIMT_TSAN
    char sync[2]; /* ThreadSanitizer's release/acquire objects, by generation parity */
#endif
    void reset(int n) {
        expected = n;
        count = 0;
    }
};

struct Warp {
    Barrier bar;          /* threads */
    FBar fbar;            /* fibers */
    uint64_t slot[2][32]; /* double-buffered by the exchange's parity */
    int lanes;
};

struct Pool;

struct Launch {
    dim3 grid, block;
    int nthreads;
    const char *name;           /* the kernel's, for messages (may be null) */
    Barrier block_bar;          /* __syncthreads(), threads */
    FBar fblock;                /* __syncthreads(), fibers */
    std::vector<Warp> warps;    /* one per warp of the block */
    Barrier end_bar;            /* threads: the end-of-block rendezvous of all threads */
    std::vector<unsigned char> shared; /* the dynamic shared buffer */
    const std::function<void()> *body;
    Pool *pool = nullptr;       /* fibers: the pool running it; threads: null */

    /* Threads: every thread after its block; the last to arrive prepares the next block. */
    void end_of_block() {
        const std::function<void()> next = [this] {
            block_bar.reset(nthreads);
            for (auto &w : warps) w.bar.reset(w.lanes);
            std::memset(shared.data(), 0xff, shared.size()); /* NaN floats, garbage */
        };
        end_bar.wait(&next);
    }
};

struct Fiber;

/* The running device thread, per OS thread; with fibers, switched with the fiber. */
struct Ctx {
    Launch *L = nullptr;
    int tid = 0;
    Fiber *fiber = nullptr;      /* fibers: the running one */
    unsigned long exchanges = 0; /* threads: warp exchanges this thread took part in, this block */
};
static thread_local Ctx ctx;

/* ---- fibers ---- */
#ifdef SIMT_TSAN
/* Under ThreadSanitizer (BD_SIMT_EXECUTOR=fibers) every fiber is a TSan fiber, switched
 * without synchronisation; the happens-before edges are the barriers' (release at the
 * arrival, acquire after it) and the block's start and end (the launching thread and the
 * fibers). The scheduler's own bookkeeping, shared by all fibers of the thread, is
 * hidden from it. */
#define SIMT_RELEASE(p) __tsan_release(p)
#define SIMT_ACQUIRE(p) __tsan_acquire(p)
#define SIMT_HIDE_BEGIN() __tsan_ignore_thread_begin()
#define SIMT_HIDE_END() __tsan_ignore_thread_end()
#else
#define SIMT_RELEASE(p) ((void)0)
#define SIMT_ACQUIRE(p) ((void)0)
#define SIMT_HIDE_BEGIN() ((void)0)
#define SIMT_HIDE_END() ((void)0)
#endif

/* The stack of each fiber. A kernel's frames are small (a few locals, the std::function
 * and std::apply calls that reach it): the deepest of a training run's kernels touched
 * 1.7 KiB at -O2, 2.1 KiB under ASan; a libc call (printf) takes a few KiB more. Only the
 * touched pages take memory. */
static const size_t fiber_stack = 256 << 10;
static const int max_fibers = 1024;

struct Fiber {
    void *sp = nullptr;          /* saved stack pointer while switched out (asm switch) */
    const FBar *wait = nullptr;  /* the barrier this fiber waits at, or null */
    unsigned wait_gen = 0;       /* ... and the generation it arrived in */
    int next = 0, prev = 0;      /* the ring of this block's unfinished fibers */
    bool done = false;           /* returned from this block's kernel */
    int tid = 0;
    uint3 idx{};
    unsigned long exchanges = 0; /* warp exchanges this fiber took part in, this block */
    char *map = nullptr;         /* the mapping: guard page, then the stack */
    char *stack = nullptr;
    size_t stack_size = 0;
    void *asan_fake = nullptr;   /* ASan's fake stack while switched out */
    void *tsan = nullptr;        /* ThreadSanitizer's fiber */
#if !SIMT_ASM_SWITCH
    ucontext_t uc;
#endif
};

/* The fibers of one OS thread and the context of the code that launched (main). */
struct Pool {
    Fiber f[max_fibers];
    int made = 0;                /* fibers with a stack and a context */
    int cur = -1;                /* the running fiber; -1: main */
    int live = 0;                /* unfinished fibers of this block */
    Launch *L = nullptr;
    void *main_sp = nullptr;
#if !SIMT_ASM_SWITCH
    ucontext_t main_uc;
#endif
    void *main_fake = nullptr;
    const void *main_lo = nullptr;
    size_t main_size = 0;
    void *main_tsan = nullptr;
    char block_sync = 0, end_sync = 0; /* ThreadSanitizer: main -> the block -> main */
    size_t map_size = 0;
    ~Pool() {
        for (int i = 0; i < made; i++) {
#ifdef SIMT_ASAN
            __asan_unpoison_memory_region(f[i].map, map_size);
#endif
#ifdef SIMT_TSAN
            __tsan_destroy_fiber(f[i].tsan);
#endif
            munmap(f[i].map, map_size);
        }
    }
};

static thread_local Pool *tls_pool;
struct PoolOwner {
    ~PoolOwner() {
        SIMT_HIDE_BEGIN(); /* the fibers' (unhidden) reads of the pool are done */
        delete tls_pool;
        tls_pool = nullptr;
        SIMT_HIDE_END();
    }
};
static thread_local PoolOwner pool_owner;

static Pool &pool() {
    if (!tls_pool) {
        (void)&pool_owner; /* constructed here, so destroyed at this thread's exit */
        tls_pool = new Pool;
        tls_pool->map_size = fiber_stack + (size_t)sysconf(_SC_PAGESIZE);
#ifdef SIMT_TSAN
        tls_pool->main_tsan = __tsan_get_current_fiber();
#endif
    }
    return *tls_pool;
}

static void fiber_entry();

static void make_fiber(Pool &P, Fiber &f) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(nullptr, P.map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0) {
        std::perror("simt: a fiber's stack");
        std::abort();
    }
    f.map = static_cast<char *>(m);
    f.stack = f.map + page; /* an overflow faults on the guard page below */
    f.stack_size = P.map_size - page;
#if SIMT_ASM_SWITCH
    /* The first switch to it pops six zero registers (rbp 0 ends frame-pointer walks) and
     * returns into fiber_entry as if called: the stack pointer is then 8 mod 16 and
     * above it lies a zero return address, which ends unwinding. */
    void **sp = reinterpret_cast<void **>(((uintptr_t)(f.stack + f.stack_size) & ~(uintptr_t)15) - 8 * sizeof(void *));
    for (int i = 0; i < 6; i++) sp[i] = nullptr;
    sp[6] = reinterpret_cast<void *>(&fiber_entry);
    sp[7] = nullptr;
    f.sp = sp;
#else
    if (getcontext(&f.uc) != 0) {
        std::perror("simt: getcontext");
        std::abort();
    }
    f.uc.uc_stack.ss_sp = f.stack;
    f.uc.uc_stack.ss_size = f.stack_size;
    f.uc.uc_link = nullptr;
    makecontext(&f.uc, fiber_entry, 0);
#endif
#ifdef SIMT_TSAN
    f.tsan = __tsan_create_fiber(0);
#endif
}

/* Switches from the running context (P.cur) to fiber `to` (-1: main); returns when
 * something switches back. Called hidden from ThreadSanitizer. */
static void switch_to(Pool &P, int to) {
    const int from = P.cur;
    Fiber *t = to >= 0 ? &P.f[to] : nullptr;
    if (t) {
        ctx.tid = t->tid;
        ctx.fiber = t;
        threadIdx = t->idx;
    }
    P.cur = to;
#ifdef SIMT_ASAN
    void **fake = from >= 0 ? &P.f[from].asan_fake : &P.main_fake;
    __sanitizer_start_switch_fiber(fake, t ? t->stack : P.main_lo, t ? t->stack_size : P.main_size);
#endif
#ifdef SIMT_TSAN
    /* hidden from here on, not while switched out (a new fiber starts unhidden) */
    SIMT_HIDE_END();
    __tsan_switch_to_fiber(t ? t->tsan : P.main_tsan, __tsan_switch_to_fiber_no_sync);
#endif
#if SIMT_ASM_SWITCH
    bd_simt_switch(from >= 0 ? &P.f[from].sp : &P.main_sp, t ? t->sp : P.main_sp);
#else
    if (swapcontext(from >= 0 ? &P.f[from].uc : &P.main_uc, t ? &t->uc : &P.main_uc) != 0) {
        std::perror("simt: swapcontext");
        std::abort();
    }
#endif
#ifdef SIMT_ASAN
    __sanitizer_finish_switch_fiber(*fake, nullptr, nullptr);
#endif
    SIMT_HIDE_BEGIN();
}

static inline bool runnable(const Fiber &f) { return !f.wait || f.wait->gen != f.wait_gen; }

/* The first runnable fiber of the ring from `start` on, or -1. */
static int find_runnable(const Pool &P, int start) {
    int i = start;
    do {
        if (runnable(P.f[i])) return i;
        i = P.f[i].next;
    } while (i != start);
    return -1;
}

static void describe_waiters(const Pool &P, int n, const FBar *b, const char *what) {
    int waiting = 0;
    for (int t = 0; t < n; t++) waiting += !P.f[t].done && P.f[t].wait == b;
    if (!waiting) return;
    std::fprintf(stderr, "simt:   %d wait at %s (%d of the %d that have not returned arrived):", waiting, what,
                 b->count, b->expected);
    int shown = 0;
    for (int t = 0; t < n && shown < 8; t++)
        if (!P.f[t].done && P.f[t].wait == b) std::fprintf(stderr, " %d", t), shown++;
    std::fprintf(stderr, "%s\n", waiting > shown ? " ..." : "");
}

/* Every unfinished fiber waits at a barrier that cannot release. */
[[noreturn]] static void deadlock(const Launch &L, const Pool &P) {
    std::fprintf(stderr,
                 "simt: deadlock in kernel %s, block (%u,%u,%u): all %d threads that have not returned wait at "
                 "barriers that cannot release (__syncthreads() against a warp's shuffle, vote or __syncwarp "
                 "in divergent code?)\n",
                 L.name ? L.name : "(unnamed)", blockIdx.x, blockIdx.y, blockIdx.z, P.live);
    describe_waiters(P, L.nthreads, &L.fblock, "__syncthreads()");
    for (size_t w = 0; w < L.warps.size(); w++) {
        char what[96];
        std::snprintf(what, sizeof what, "warp %zu's shuffle, vote or __syncwarp", w);
        describe_waiters(P, L.nthreads, &L.warps[w].fbar, what);
    }
    std::fflush(stderr);
    std::abort();
}

static void fbar_release(FBar &b) {
    b.count = 0;
    b.gen++;
}

/* A fiber arrives at b: the last arrival releases it and goes on; the others switch to
 * the next runnable fiber and come back here once b is released. */
static void fiber_wait(Launch &L, FBar &b) {
    SIMT_HIDE_BEGIN();
    const unsigned g = b.gen;
#ifdef SIMT_TSAN
    SIMT_RELEASE(&b.sync[g & 1]);
#endif
    if (++b.count >= b.expected) {
        fbar_release(b);
    } else {
        Pool &P = *L.pool;
        Fiber &me = P.f[P.cur];
        me.wait = &b;
        me.wait_gen = g;
        const int to = find_runnable(P, me.next);
        if (to < 0) deadlock(L, P);
        switch_to(P, to);
        me.wait = nullptr;
    }
#ifdef SIMT_TSAN
    SIMT_ACQUIRE(&b.sync[g & 1]);
#endif
    SIMT_HIDE_END();
}

/* A fiber that returned leaves the barriers, which may release them. */
static void fbar_drop(FBar &b) {
#ifdef SIMT_TSAN
    SIMT_RELEASE(&b.sync[b.gen & 1]);
#endif
    b.expected--;
    if (b.count > 0 && b.count >= b.expected) fbar_release(b);
}

/* The running fiber has returned from the kernel: it leaves the block's ring and hands
 * over to the next runnable fiber, or to main after the last. It comes back here at the
 * start of its next block. */
static void fiber_exit_block(Pool &P) {
    SIMT_RELEASE(&P.end_sync);
    SIMT_HIDE_BEGIN();
    Launch &L = *P.L;
    Fiber &me = P.f[P.cur];
    me.done = true;
    fbar_drop(L.fblock);
    fbar_drop(L.warps[(size_t)me.tid >> 5].fbar);
    int to = -1;
    if (--P.live > 0) {
        P.f[me.prev].next = me.next;
        P.f[me.next].prev = me.prev;
        to = find_runnable(P, me.next);
        if (to < 0) deadlock(L, P);
    }
    switch_to(P, to);
    SIMT_HIDE_END();
}

static void fiber_entry() {
    Pool &P = *tls_pool;
#ifdef SIMT_ASAN
    const void *lo = nullptr;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(nullptr, &lo, &size);
    if (!P.main_lo) { /* the first fiber ever started is started by main */
        P.main_lo = lo;
        P.main_size = size;
    }
#endif
    for (;;) {
        SIMT_ACQUIRE(&P.block_sync);
        (*P.L->body)();
        fiber_exit_block(P);
    }
}

static void run_fibers(Launch &L, long nblocks) {
    Pool &P = pool();
    SIMT_HIDE_BEGIN();
    const int n = L.nthreads;
    while (P.made < n) make_fiber(P, P.f[P.made++]);
    L.pool = &P;
    P.L = &L;
    for (int t = 0; t < n; t++) {
        Fiber &f = P.f[t];
        f.tid = t;
        f.idx.x = (unsigned)t % L.block.x;
        f.idx.y = ((unsigned)t / L.block.x) % L.block.y;
        f.idx.z = (unsigned)t / (L.block.x * L.block.y);
    }
    ctx.L = &L;
    for (long b = 0; b < nblocks; b++) {
        blockIdx.x = (unsigned)(b % L.grid.x);
        blockIdx.y = (unsigned)((b / L.grid.x) % L.grid.y);
        blockIdx.z = (unsigned)(b / ((long)L.grid.x * L.grid.y));
        if (b > 0) {
            L.fblock.reset(n);
            for (auto &w : L.warps) w.fbar.reset(w.lanes);
            std::memset(L.shared.data(), 0xff, L.shared.size()); /* NaN floats, garbage */
        }
        for (int t = 0; t < n; t++) {
            Fiber &f = P.f[t];
            f.wait = nullptr;
            f.done = false;
            f.exchanges = 0;
            f.next = t + 1 < n ? t + 1 : 0;
            f.prev = t > 0 ? t - 1 : n - 1;
        }
        P.live = n;
        SIMT_RELEASE(&P.block_sync);
        switch_to(P, 0); /* back when every fiber has returned */
        SIMT_ACQUIRE(&P.end_sync);
    }
    ctx = Ctx();
    P.L = nullptr;
    SIMT_HIDE_END();
}

/* ---- threads ---- */
/* The threads of a block on OS threads: a pool of workers, made as launches need them
 * (up to 1024) and kept; worker t runs thread t of every block of a launch. Hand-offs are
 * release/acquire atomics (ThreadSanitizer sees the launching thread's writes happen
 * before the kernel's, and the kernel's before its reads after the launch) with futex
 * sleeps. A forked child starts without workers (pthread_atfork). */
static void futex_wait(std::atomic<uint32_t> &a, uint32_t v) {
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(&a), FUTEX_WAIT_PRIVATE, v, nullptr, nullptr, 0);
}
static void futex_wake(std::atomic<uint32_t> &a, int n) {
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(&a), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

struct Workers {
    struct Worker {
        std::atomic<uint32_t> go{0}; /* bumped for each launch this worker takes part in */
    };
    Worker w[max_fibers];
    int made = 0;
    Launch *L = nullptr;
    long nblocks = 0;
    std::atomic<int> running{0};
    std::atomic<uint32_t> done{0};

    void work(int t) {
        uint32_t seen = 0;
        for (;;) {
            uint32_t g;
            while ((g = w[t].go.load(std::memory_order_acquire)) == seen) futex_wait(w[t].go, seen);
            seen = g;
            Launch &La = *L;
            ctx.L = &La;
            ctx.tid = t;
            threadIdx.x = (unsigned)t % La.block.x;
            threadIdx.y = ((unsigned)t / La.block.x) % La.block.y;
            threadIdx.z = (unsigned)t / (La.block.x * La.block.y);
            for (long b = 0; b < nblocks; b++) {
                blockIdx.x = (unsigned)(b % La.grid.x);
                blockIdx.y = (unsigned)((b / La.grid.x) % La.grid.y);
                blockIdx.z = (unsigned)(b / ((long)La.grid.x * La.grid.y));
                ctx.exchanges = 0;
                (*La.body)();
                La.block_bar.drop();
                La.warps[(size_t)t >> 5].bar.drop();
                La.end_of_block();
            }
            ctx = Ctx();
            if (running.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                done.store(1, std::memory_order_release);
                futex_wake(done, 1);
            }
        }
    }

    void run(Launch &La, long nb) {
        for (; made < La.nthreads; made++) {
            const int t = made;
            std::thread([this, t] { work(t); }).detach(); /* never ends; the process exits around it */
        }
        L = &La;
        nblocks = nb;
        running.store(La.nthreads, std::memory_order_relaxed);
        done.store(0, std::memory_order_relaxed);
        for (int t = 0; t < La.nthreads; t++) {
            w[t].go.fetch_add(1, std::memory_order_release);
            futex_wake(w[t].go, 1);
        }
        while (done.load(std::memory_order_acquire) == 0) futex_wait(done, 0);
        L = nullptr;
    }
};

static std::atomic<Workers *> workers{nullptr};
static std::once_flag workers_once;

static void run_threads(Launch &L, long nblocks) {
    std::call_once(workers_once, [] {
        workers.store(new Workers);
        /* the child of a fork has only the forking thread: it starts a pool of its own
         * (the parent's, whose workers it lacks, is left unused) */
        pthread_atfork(nullptr, nullptr, [] { workers.store(new Workers); });
    });
    L.block_bar.reset(L.nthreads);
    L.end_bar.reset(L.nthreads);
    for (auto &w : L.warps) w.bar.reset(w.lanes);
    workers.load()->run(L, nblocks);
}

/* ---- the device functions ---- */
static Launch &cur() {
    if (!ctx.L) {
        std::fprintf(stderr, "simt: a device function was called outside a kernel\n");
        std::abort();
    }
    return *ctx.L;
}

void syncthreads() {
    Launch &L = cur();
    if (L.pool) fiber_wait(L, L.fblock);
    else L.block_bar.wait();
}
int lane_id() { return ctx.tid & 31; }
int warp_lanes() { return cur().warps[(size_t)ctx.tid >> 5].lanes; }
void syncwarp() {
    Launch &L = cur();
    Warp &w = L.warps[(size_t)ctx.tid >> 5];
    if (L.pool) fiber_wait(L, w.fbar);
    else w.bar.wait();
}
void *dynamic_shared() { return cur().shared.data(); }

/* One warp barrier per exchange: exchange k writes buffer k & 1, which exchange k + 2
 * writes again only after every lane has passed exchange k + 1's barrier, that is after
 * every lane has read exchange k's values. Returns that buffer, every lane's value. */
static const uint64_t *warp_gather(uint64_t mine) {
    Launch &L = cur();
    Warp &w = L.warps[(size_t)ctx.tid >> 5];
    unsigned long &ex = ctx.fiber ? ctx.fiber->exchanges : ctx.exchanges;
    const int par = ex++ & 1;
    w.slot[par][ctx.tid & 31] = mine;
    if (L.pool) fiber_wait(L, w.fbar); /* every lane has written */
    else w.bar.wait();
    return w.slot[par];
}

uint64_t warp_exchange(uint64_t mine, int src) { return warp_gather(mine)[src]; }

/* ---- executors and launches ---- */
#ifdef SIMT_TSAN
static const Executor default_executor = Executor::threads;
#else
static const Executor default_executor = Executor::fibers;
#endif
static std::once_flag executor_env_once;
static std::atomic<int> executor_now{(int)default_executor};

/* BD_SIMT_EXECUTOR, once, before the executor is first read or set. */
static void read_executor_env() {
    std::call_once(executor_env_once, [] {
        const char *v = std::getenv("BD_SIMT_EXECUTOR");
        if (!v || !*v) return;
        if (std::strcmp(v, "fibers") == 0) executor_now.store((int)Executor::fibers);
        else if (std::strcmp(v, "threads") == 0) executor_now.store((int)Executor::threads);
        else {
            std::fprintf(stderr, "simt: BD_SIMT_EXECUTOR=%s is neither fibers nor threads\n", v);
            std::abort();
        }
    });
}

void set_executor(Executor e) {
    read_executor_env();
    executor_now.store((int)e);
}

Executor executor() {
    read_executor_env();
    return (Executor)executor_now.load();
}

static thread_local cudaError_t last_error = cudaSuccess;

long run_grid(dim3 grid, dim3 block, size_t shmem, const std::function<void()> &body, const char *name) {
    const unsigned long nt = (unsigned long)block.x * block.y * block.z;
    if (nt == 0 || nt > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
        grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || shmem > 48 * 1024) {
        last_error = cudaErrorInvalidConfiguration;
        return 0;
    }
    if (ctx.L) {
        std::fprintf(stderr, "simt: kernel %s launched from inside a kernel (not modelled)\n",
                     name ? name : "(unnamed)");
        std::abort();
    }
    Launch L;
    L.grid = grid;
    L.block = block;
    L.nthreads = (int)nt;
    L.name = name;
    L.body = &body;
    L.fblock.reset(L.nthreads);
    L.warps = std::vector<Warp>((nt + 31) / 32);
    for (size_t w = 0; w < L.warps.size(); w++) {
        L.warps[w].lanes = (int)std::min<unsigned long>(32, nt - 32 * w);
        L.warps[w].fbar.reset(L.warps[w].lanes);
    }
    L.shared.assign(shmem ? shmem : 1, 0xff);
    /* one launch at a time (the __shared__ statics, the globals below, the worker pool) */
    static std::mutex launch_m;
    std::lock_guard<std::mutex> lock(launch_m);
    gridDim = grid;
    blockDim = block;
    const long nblocks = (long)grid.x * grid.y * grid.z;
    if (executor() == Executor::fibers) run_fibers(L, nblocks);
    else run_threads(L, nblocks);
    return nblocks;
}

} // namespace simt

unsigned __ballot_sync(unsigned mask, int pred) {
    (void)mask;
    const uint64_t *all = simt::warp_gather(pred ? 1u : 0u); /* one exchange: every lane's predicate */
    unsigned r = 0;
    for (int s = 0; s < simt::warp_lanes(); s++)
        if (all[s]) r |= 1u << s;
    return r;
}

int __all_sync(unsigned mask, int pred) {
    unsigned b = __ballot_sync(mask, pred);
    int n = simt::warp_lanes();
    return b == (n == 32 ? 0xffffffffu : ((1u << n) - 1));
}

/* ---- runtime over host memory ---------------------------------------------------- */
namespace {
std::mutex alloc_m;
std::map<uintptr_t, size_t> allocs; /* start -> bytes */
size_t allocated = 0;
const size_t simt_total = (size_t)16 << 30; /* a pretend 16 GiB device */
size_t limit = 0;                           /* set_memory_limit; 0: none (guarded by alloc_m) */
std::once_flag limit_env_once;

/* BD_SIMT_MEMORY_LIMIT, once, before the limit is first read or set. */
void read_limit_env() {
    std::call_once(limit_env_once, [] {
        const char *v = std::getenv("BD_SIMT_MEMORY_LIMIT");
        if (!v || !*v) return;
        char *end = nullptr;
        unsigned long long b = std::strtoull(v, &end, 10);
        if (*end || v[0] == '-') {
            std::fprintf(stderr, "simt: BD_SIMT_MEMORY_LIMIT=%s is not a number of bytes\n", v);
            std::abort();
        }
        std::lock_guard<std::mutex> l(alloc_m);
        limit = (size_t)b;
    });
}

/* The device's size: the limit when one is set. Caller holds alloc_m. */
size_t total_locked() { return limit ? limit : simt_total; }

/* Whether [p, p + n) lies inside one live allocation. */
bool on_device(const void *p, size_t n) {
    std::lock_guard<std::mutex> l(alloc_m);
    uintptr_t a = (uintptr_t)p;
    if (n == 0) n = 1;
    auto it = allocs.upper_bound(a);
    if (it == allocs.begin()) return false;
    --it;
    return a >= it->first && a + n <= it->first + it->second;
}

cudaError_t ret(cudaError_t e) {
    if (e != cudaSuccess) simt::last_error = e;
    return e;
}
} // namespace

size_t simt::bytes_allocated() {
    std::lock_guard<std::mutex> l(alloc_m);
    return allocated;
}

bool simt::device_range_ok(const void *p, size_t bytes) { return on_device(p, bytes); }

void simt::set_memory_limit(size_t bytes) {
    read_limit_env();
    std::lock_guard<std::mutex> l(alloc_m);
    limit = bytes;
}

size_t simt::memory_limit() {
    read_limit_env();
    std::lock_guard<std::mutex> l(alloc_m);
    return limit;
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (!p) return ret(cudaErrorInvalidValue);
    *p = nullptr;
    read_limit_env();
    {
        /* reserve the bytes first, so two threads cannot both pass the check */
        std::lock_guard<std::mutex> l(alloc_m);
        const size_t total = total_locked();
        if (allocated > total || bytes > total - allocated) return ret(cudaErrorMemoryAllocation);
        allocated += bytes;
    }
    void *q = aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    if (!q) {
        std::lock_guard<std::mutex> l(alloc_m);
        allocated -= bytes;
        return ret(cudaErrorMemoryAllocation);
    }
    std::memset(q, 0xff, bytes); /* device memory starts as garbage, not zeros */
    std::lock_guard<std::mutex> l(alloc_m);
    allocs[(uintptr_t)q] = bytes;
    *p = q;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    std::lock_guard<std::mutex> l(alloc_m);
    auto it = allocs.find((uintptr_t)p);
    if (it == allocs.end()) return ret(cudaErrorInvalidDevicePointer);
    allocated -= it->second;
    allocs.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    if (!dst || !src) return ret(cudaErrorInvalidValue);
    bool dd = on_device(dst, bytes), sd = on_device(src, bytes);
    switch (kind) {
    case cudaMemcpyHostToHost: if (dd || sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyHostToDevice: if (!dd || sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyDeviceToHost: if (dd || !sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyDeviceToDevice: if (!dd || !sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyDefault: break;
    default: return ret(cudaErrorInvalidMemcpyDirection);
    }
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void *p, int value, size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (!on_device(p, bytes)) return ret(cudaErrorInvalidValue);
    std::memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    read_limit_env();
    std::lock_guard<std::mutex> l(alloc_m);
    const size_t total = total_locked();
    if (free_bytes) *free_bytes = allocated < total ? total - allocated : 0;
    if (total_bytes) *total_bytes = total;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *n) {
    if (!n) return ret(cudaErrorInvalidValue);
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : ret(cudaErrorInvalidValue); }
cudaError_t cudaGetDevice(int *dev) {
    if (!dev) return ret(cudaErrorInvalidValue);
    *dev = 0; /* the only device */
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev) {
    if (!prop) return ret(cudaErrorInvalidValue);
    if (dev != 0) return ret(cudaErrorInvalidDevice);
    std::memset(prop, 0, sizeof *prop);
    std::snprintf(prop->name, sizeof prop->name, "%s", "SIMT simulator (CPU)");
    size_t total = 0;
    cudaMemGetInfo(nullptr, &total);
    prop->totalGlobalMem = total;
    prop->sharedMemPerBlock = 48 * 1024; /* what run_grid checks the dynamic buffer against */
    prop->sharedMemPerBlockOptin = 48 * 1024;
    prop->sharedMemPerMultiprocessor = 48 * 1024;
    prop->totalConstMem = 64 * 1024;
    prop->regsPerBlock = 65536;
    prop->warpSize = warpSize;
    prop->maxThreadsPerBlock = 1024;
    prop->maxThreadsDim[0] = 1024;
    prop->maxThreadsDim[1] = 1024;
    prop->maxThreadsDim[2] = 64;
    prop->maxGridSize[0] = INT_MAX;
    prop->maxGridSize[1] = 65535;
    prop->maxGridSize[2] = 65535;
    prop->major = 9;
    prop->minor = 0;
    /* a small count: grid-stride loops sized by it run their blocks one after another here */
    prop->multiProcessorCount = 16;
    prop->maxThreadsPerMultiProcessor = 2048;
    prop->l2CacheSize = 4 << 20;
    prop->memoryBusWidth = 256;
    prop->unifiedAddressing = 1;
    prop->concurrentKernels = 1;
    prop->asyncEngineCount = 1;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t *s) {
    if (!s) return ret(cudaErrorInvalidValue);
    *s = nullptr;
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

/* Events: a live set (a destroyed or never-created event is an invalid handle). */
struct CUevent_st {
    unsigned flags;
    bool recorded;
    std::chrono::steady_clock::time_point t;
};
namespace {
std::mutex event_m;
std::set<cudaEvent_t> events;

/* The event when it is live, under event_m held by the caller. */
bool event_live_locked(cudaEvent_t ev) { return ev && events.count(ev) != 0; }
} // namespace

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned flags) {
    if (!ev) return ret(cudaErrorInvalidValue);
    if (flags & ~(unsigned)(cudaEventBlockingSync | cudaEventDisableTiming)) return ret(cudaErrorInvalidValue);
    cudaEvent_t e = new CUevent_st{flags, false, {}};
    std::lock_guard<std::mutex> l(event_m);
    events.insert(e);
    *ev = e;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t ev) {
    std::lock_guard<std::mutex> l(event_m);
    if (!event_live_locked(ev)) return ret(cudaErrorInvalidResourceHandle);
    events.erase(ev);
    delete ev;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> l(event_m);
    if (!event_live_locked(ev)) return ret(cudaErrorInvalidResourceHandle);
    ev->recorded = true;
    ev->t = now;
    return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t ev) {
    std::lock_guard<std::mutex> l(event_m);
    return event_live_locked(ev) ? cudaSuccess : ret(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaEventSynchronize(cudaEvent_t ev) { return cudaEventQuery(ev); }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t ev, unsigned) { return cudaEventQuery(ev); }

/* As CUDA: either event never recorded, or created with cudaEventDisableTiming, is an
 * invalid handle here. */
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
    if (!ms) return ret(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> l(event_m);
    if (!event_live_locked(start) || !event_live_locked(end)) return ret(cudaErrorInvalidResourceHandle);
    if (!start->recorded || !end->recorded || ((start->flags | end->flags) & cudaEventDisableTiming))
        return ret(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
    cudaError_t e = simt::last_error;
    simt::last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return simt::last_error; }

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    }
    return "unrecognized error code";
}
