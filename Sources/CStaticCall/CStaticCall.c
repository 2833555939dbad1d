// The parts of StaticCall that Swift cannot express. Each function says why it is here.
#define _GNU_SOURCE
#include "CStaticCall.h"

#include <errno.h>

#include "Engine.h"

/* Why C: a mark a signal handler can read without touching anything lazily initialized (Swift's globals
   are initialized once, on first use: a handler on the thread running that initializer would wait for
   itself). One mark per running initializer, so that initializers overlapping on different threads
   never leave a thread marked after its own returned. */
#define INITIALIZING_MARKS 16
static uintptr_t initializing[INITIALIZING_MARKS];
int cstaticcall_mark_initializing(uintptr_t thread) {
    for (int i = 0; i < INITIALIZING_MARKS; i++) {
        uintptr_t expected = 0;
        if (__atomic_compare_exchange_n(&initializing[i], &expected, thread, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return i;
    }
    return -1; /* unmarked: a re-entry then goes undetected, nothing is stopped wrongly */
}
void cstaticcall_unmark_initializing(int mark) {
    if (mark >= 0 && mark < INITIALIZING_MARKS) __atomic_store_n(&initializing[mark], 0, __ATOMIC_RELEASE);
}
int cstaticcall_is_initializing(uintptr_t thread) {
    for (int i = 0; i < INITIALIZING_MARKS; i++) {
        if (__atomic_load_n(&initializing[i], __ATOMIC_ACQUIRE) == thread) return 1;
    }
    return 0;
}

/* Why C: functions with fixed bodies whose addresses Swift can take without a thin conversion, each
   returning its own slot: a function "returning v" for any v without writing code (every platform; no
   page is ever writable and executable). A slot is written before its function's address is published
   and never changes; release/acquire, so that an address passed on without ordering of its own still
   finds the value (free on x86-64; arm64 needs it). */
static uint64_t constant_slots[CSTATICCALL_CONSTANT_FUNCTIONS];
#define CONSTANT_FUNCTION(a, b) \
    __attribute__((noinline, used)) static uint64_t constant_function_##a##b(void) { \
        return __atomic_load_n(&constant_slots[(a) * 8 + (b)], __ATOMIC_ACQUIRE); \
    }
#define CONSTANT_FUNCTIONS(a) CONSTANT_FUNCTION(a, 0) CONSTANT_FUNCTION(a, 1) CONSTANT_FUNCTION(a, 2) \
    CONSTANT_FUNCTION(a, 3) CONSTANT_FUNCTION(a, 4) CONSTANT_FUNCTION(a, 5) CONSTANT_FUNCTION(a, 6) CONSTANT_FUNCTION(a, 7)
CONSTANT_FUNCTIONS(0) CONSTANT_FUNCTIONS(1) CONSTANT_FUNCTIONS(2) CONSTANT_FUNCTIONS(3)
CONSTANT_FUNCTIONS(4) CONSTANT_FUNCTIONS(5) CONSTANT_FUNCTIONS(6) CONSTANT_FUNCTIONS(7)
#define CONSTANT_ROW(a) constant_function_##a##0, constant_function_##a##1, constant_function_##a##2, \
    constant_function_##a##3, constant_function_##a##4, constant_function_##a##5, constant_function_##a##6, constant_function_##a##7
static uint64_t (*const constant_functions[CSTATICCALL_CONSTANT_FUNCTIONS])(void) = {
    CONSTANT_ROW(0), CONSTANT_ROW(1), CONSTANT_ROW(2), CONSTANT_ROW(3),
    CONSTANT_ROW(4), CONSTANT_ROW(5), CONSTANT_ROW(6), CONSTANT_ROW(7),
};
uintptr_t cstaticcall_constant_function(size_t slot, uint64_t value) {
    if (slot >= CSTATICCALL_CONSTANT_FUNCTIONS) return 0;
    __atomic_store_n(&constant_slots[slot], value, __ATOMIC_RELEASE);
    return (uintptr_t)constant_functions[slot];
}

#if defined(CSTATICCALL_ENGINE)
#include <link.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif
#ifndef ARCH_SHSTK_STATUS
#define ARCH_SHSTK_STATUS 0x5005
#endif

typedef struct table {
    size_t count;
    uintptr_t data[]; /* pokes: count * 3 words (site, operand, emulation); known sites: count words */
} table;

/* The in-flight table and the known-site set. Readers (signal handlers) announce themselves in
   `readers` before loading a pointer; the patcher swaps a pointer, then waits for `readers` to reach
   zero before freeing the old table: the userspace form of the kernel's bp_desc refcount. */
static _Atomic(table *) inflight;
static _Atomic(table *) known;
static atomic_long readers;
static atomic_ullong emulated_count;
static atomic_ullong late_count;

/* The handler to chain to, double-buffered so a handler running on another thread never reads a
   half-written struct while a re-install replaces it. */
static struct sigaction previous[2];
static atomic_int previous_index;

/* The call into a previous handler in progress on this thread, to recognise a handler that chains back
   to us (one installed after ours, which we then re-installed over: each is the other's previous). A
   previous handler may leave by siglongjmp instead of returning, so this is never a counter that must
   be undone: a call is a loop-back only if it is nested inside that call's frame *and* passes the same
   siginfo, which a fresh trap after a siglongjmp never does. */
static __thread const void *chaining_frame __attribute__((tls_model("initial-exec")));
static __thread const siginfo_t *chaining_info __attribute__((tls_model("initial-exec")));
/* Nested loop-backs counted while they stay nested (a handler that chains back with a copy of the
   siginfo is caught by this bound); a fresh, non-nested trap starts again from 0. */
static __thread int chaining_nesting __attribute__((tls_model("initial-exec")));
/* Set when the previous handler had SA_RESETHAND and has been called once: the kernel would have reset
   the disposition to SIG_DFL on that delivery, so from then on it is SIG_DFL. */
static atomic_int previous_was_reset;

static void wait_for_readers(void) {
    while (atomic_load(&readers) != 0) {
        sched_yield();
    }
}

static void swap_table(_Atomic(table *) *slot, table *replacement) {
    table *old = atomic_exchange(slot, replacement);
    wait_for_readers();
    free(old);
}

static const uintptr_t *find_poke(const table *t, uintptr_t site) {
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uintptr_t s = t->data[mid * 3];
        if (s == site) return &t->data[mid * 3];
        if (s < site) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static int contains_site(const table *t, uintptr_t site) {
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->data[mid] == site) return 1;
        if (t->data[mid] < site) lo = mid + 1; else hi = mid;
    }
    return 0;
}

static void chain(int sig, siginfo_t *info, void *context);

/* Why C: a signal handler edits the interrupted thread's registers through ucontext_t and must be
   async-signal-safe; Swift can neither name the x86-64 gregs layout portably nor promise that. */
static void trap_handler(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = (ucontext_t *)context;
    int saved_errno = errno;
    /* An INT3 executed in user mode arrives as SI_KERNEL; raise(SIGTRAP) and kill() never do. */
    if (info != NULL && info->si_code == SI_KERNEL && uc != NULL) {
        greg_t *regs = uc->uc_mcontext.gregs;
        uintptr_t site = (uintptr_t)regs[REG_RIP] - 1;
        atomic_fetch_add(&readers, 1);
        const table *t = atomic_load(&inflight);
        const uintptr_t *poke = t ? find_poke(t, site) : NULL;
        if (poke != NULL) {
            uintptr_t operand = poke[1];
            switch ((int)poke[2]) {
            case CSTATICCALL_EMULATE_CALL:
                regs[REG_RSP] -= 8;
                *(uintptr_t *)regs[REG_RSP] = site + 5;
                regs[REG_RIP] = (greg_t)operand;
                break;
            case CSTATICCALL_EMULATE_JUMP:
                regs[REG_RIP] = (greg_t)operand;
                break;
            case CSTATICCALL_EMULATE_NOP:
                regs[REG_RIP] = (greg_t)(site + 5);
                break;
            case CSTATICCALL_EMULATE_LOAD:
                regs[REG_RAX] = (greg_t)operand;
                regs[REG_RIP] = (greg_t)(site + 5);
                break;
            case CSTATICCALL_EMULATE_RET:
                regs[REG_RIP] = (greg_t)*(uintptr_t *)regs[REG_RSP];
                regs[REG_RSP] += 8;
                break;
            }
            atomic_fetch_sub(&readers, 1);
            atomic_fetch_add_explicit(&emulated_count, 1, memory_order_relaxed);
            errno = saved_errno;
            return;
        }
        /* The trap was taken while our INT3 was there, but the handler runs after the patch finished:
           the site now holds a whole instruction, so resume at it. */
        const table *k = atomic_load(&known);
        if (k != NULL && contains_site(k, site) && *(volatile uint8_t *)site != 0xcc) {
            regs[REG_RIP] = (greg_t)site;
            atomic_fetch_sub(&readers, 1);
            atomic_fetch_add_explicit(&late_count, 1, memory_order_relaxed);
            errno = saved_errno;
            return;
        }
        atomic_fetch_sub(&readers, 1);
    }
    errno = saved_errno;
    chain(sig, info, context);
}

/* Not ours: behave exactly as the handler that was installed before us would have, with the signal mask
   it would have run with (ours blocks every asynchronous signal while it runs; see the install). */
static void chain(int sig, siginfo_t *info, void *context) {
    struct sigaction prev = previous[atomic_load(&previous_index)];
    int loops_back = (prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == trap_handler;
    const void *here = __builtin_frame_address(0);
    int nested = chaining_frame != NULL && here < chaining_frame;
    if (!nested) chaining_nesting = 0;
    if (nested && (chaining_info == info || chaining_nesting >= 8)) {
        loops_back = 1; /* called from inside the previous handler we are calling: nobody else wants it */
    }
    if (loops_back || atomic_load(&previous_was_reset)) {
        prev.sa_flags = 0;
        prev.sa_handler = SIG_DFL;
    }
    /* SIG_IGN and SIG_DFL are the same values in either member of the handler union. A trap the CPU
       raised (an INT3: SI_KERNEL) cannot be ignored: the kernel forces the default action then. */
    if (prev.sa_handler == SIG_IGN && info != NULL && info->si_code == SI_KERNEL) prev.sa_handler = SIG_DFL;
    if (prev.sa_handler == SIG_IGN) return;
    if (prev.sa_handler == SIG_DFL) {
        /* Re-deliver with the default action so the process ends (and dumps core) as it would have. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
        return;
    }
    /* The mask the kernel would have set for that handler: the interrupted code's, its sa_mask, and the
       signal itself unless SA_NODEFER. */
    ucontext_t *uc = (ucontext_t *)context;
    sigset_t mask;
    if (uc != NULL) mask = uc->uc_sigmask; else sigemptyset(&mask);
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(&prev.sa_mask, s) == 1) sigaddset(&mask, s);
    }
    if (!(prev.sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);

    if (prev.sa_flags & SA_RESETHAND) atomic_store(&previous_was_reset, 1);
    const void *saved_frame = chaining_frame;
    const siginfo_t *saved_info = chaining_info;
    int saved_nesting = chaining_nesting;
    chaining_frame = here;
    chaining_info = info;
    chaining_nesting = saved_nesting + 1;
    if (prev.sa_flags & SA_SIGINFO) {
        prev.sa_sigaction(sig, info, context);
    } else {
        prev.sa_handler(sig);
    }
    chaining_frame = saved_frame;
    chaining_info = saved_info;
    chaining_nesting = saved_nesting;
}

/* Why C: sigaction's handler union and flags, and the handler itself, live here. */
int cstaticcall_install_trap_handler(void) {
    struct sigaction current;
    if (sigaction(SIGTRAP, NULL, &current) != 0) return errno;
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == trap_handler) return 0;
    int next = 1 - atomic_load(&previous_index);
    previous[next] = current;
    atomic_store(&previous_index, next);
    atomic_store(&previous_was_reset, 0);

    struct sigaction mine;
    memset(&mine, 0, sizeof mine);
    mine.sa_sigaction = trap_handler;
    /* SA_ONSTACK: run on the thread's alternate stack when it has one (as Swift's backtracer does).
       SA_NODEFER: a trap chained to another handler may be re-raised from inside it.
       sa_mask: every asynchronous signal is blocked while the handler holds the table's reader count, so
       no other handler (one that updates a key, say) can run on this thread meanwhile and make the
       patcher wait for a reader that cannot finish. Synchronous signals stay open (they are forced
       anyway), and chain() sets the previous handler's own mask before calling it. */
    mine.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigfillset(&mine.sa_mask);
    sigdelset(&mine.sa_mask, SIGTRAP);
    sigdelset(&mine.sa_mask, SIGSEGV);
    sigdelset(&mine.sa_mask, SIGBUS);
    sigdelset(&mine.sa_mask, SIGILL);
    sigdelset(&mine.sa_mask, SIGFPE);
    sigdelset(&mine.sa_mask, SIGSYS);
    if (sigaction(SIGTRAP, &mine, NULL) != 0) return errno;
    return 0;
}

int cstaticcall_trap_handler_is_installed(void) {
    struct sigaction current;
    if (sigaction(SIGTRAP, NULL, &current) != 0) return 0;
    return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == trap_handler;
}

/* Why C: the table must be plain memory the async-signal-safe handler can binary-search. */
int cstaticcall_publish_pokes(const cstaticcall_poke *entries, size_t count) {
    table *t = malloc(sizeof(table) + count * 3 * sizeof(uintptr_t));
    if (t == NULL) return ENOMEM;
    t->count = count;
    for (size_t i = 0; i < count; i++) {
        t->data[i * 3] = entries[i].site;
        t->data[i * 3 + 1] = entries[i].operand;
        t->data[i * 3 + 2] = entries[i].emulation;
    }
    swap_table(&inflight, t);
    return 0;
}

void cstaticcall_retire_pokes(void) { swap_table(&inflight, NULL); }

int cstaticcall_set_known_sites(const uintptr_t *sites, size_t count) {
    table *t = malloc(sizeof(table) + count * sizeof(uintptr_t));
    if (t == NULL) return ENOMEM;
    t->count = count;
    if (count) memcpy(t->data, sites, count * sizeof(uintptr_t));
    swap_table(&known, t);
    return 0;
}

/* Why C: the reader count lives beside the handler. A child made by fork() has one thread, which is not
   inside the handler; a count inherited from a thread of the parent that was would never drop. */
void cstaticcall_reset_after_fork(void) { atomic_store(&readers, 0); }

uint64_t cstaticcall_emulated_traps(void) { return atomic_load(&emulated_count); }
uint64_t cstaticcall_late_traps(void) { return atomic_load(&late_count); }

/* Why C: membarrier has no libc wrapper and syscall() is variadic, which Swift cannot call. */
int cstaticcall_membarrier_register_sync_core(void) {
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0 ? 0 : errno;
}

int cstaticcall_membarrier_sync_core(void) {
    return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0 ? 0 : errno;
}

/* Why C: arch_prctl is reached only through the variadic syscall(). */
int cstaticcall_shadow_stack_enabled(void) {
    unsigned long features = 0;
    if (syscall(SYS_arch_prctl, ARCH_SHSTK_STATUS, &features) != 0) return 0;
    return (features & 1) != 0;
}

/* Why C: a function Swift code can name by address without a thin-function conversion. */
__attribute__((noinline, used)) static void probe_target(void) { __asm__ volatile("" ::: "memory"); }
uintptr_t cstaticcall_probe_address(void) { return (uintptr_t)&probe_target; }

/* Why C: dl_iterate_phdr is declared only under _GNU_SOURCE, which Swift's importer does not define. */
struct iterate_context {
    int (*body)(const cstaticcall_object *, void *);
    void *context;
};

static int iterate_one(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct iterate_context *c = data;
    cstaticcall_object object = {
        .bias = (uintptr_t)info->dlpi_addr,
        .name = info->dlpi_name,
        .program_headers = info->dlpi_phdr,
        .program_header_count = info->dlpi_phnum,
    };
    return c->body(&object, c->context);
}

int cstaticcall_iterate_objects(int (*body)(const cstaticcall_object *, void *), void *context) {
    struct iterate_context c = { body, context };
    return dl_iterate_phdr(iterate_one, &c);
}

/* Why C: a function with a known, fixed body whose address Swift can take without a thin conversion. */
__attribute__((noinline, used)) static long return_0(void) { return 0; }
__attribute__((noinline, used)) static long return_1(void) { return 1; }
uintptr_t cstaticcall_return_0_address(void) { return (uintptr_t)&return_0; }
uintptr_t cstaticcall_return_1_address(void) { return (uintptr_t)&return_1; }

/* Why C: mremap is variadic (the new address exists only with MREMAP_FIXED), which Swift cannot call. */
int cstaticcall_mremap_fixed(void *from, size_t size, void *to) {
    void *moved = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    return moved == MAP_FAILED ? errno : 0;
}

/* Why C: memfd_create is declared only under _GNU_SOURCE; syscall() is variadic. */
int cstaticcall_memfd_create(const char *name) {
    long fd = syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);
    return fd < 0 ? -errno : (int)fd;
}

/* Why C: gettid() is declared only under _GNU_SOURCE with glibc 2.30+; syscall() is variadic. */
int cstaticcall_thread_id(void) { return (int)syscall(SYS_gettid); }

/* Why C: prctl is variadic. */
int cstaticcall_refuse_exec_gain(void) {
    return prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == 0 ? 0 : errno;
}

#endif

/* Why C: Swift's Synchronization has atomic operations only on an `Atomic` it owns, and the word stored
   here is a generated global `var` of a thin function type (the one kind of global that Swift initializes
   statically to a function's address). Every platform: the runtime keeps the entry on all of them, and
   x86-64's trampolines jump through it. */
void cstaticcall_store_release(uintptr_t *slot, uintptr_t value) { __atomic_store_n(slot, value, __ATOMIC_RELEASE); }

#if !defined(CSTATICCALL_ENGINE) /* Other platforms: indirect mode only (ARCHITECTURE.md, Platforms); every entry point does nothing or
         reports ENOSYS. */
int cstaticcall_install_trap_handler(void) { return ENOSYS; }
int cstaticcall_trap_handler_is_installed(void) { return 0; }
void cstaticcall_reset_after_fork(void) {}
int cstaticcall_publish_pokes(const cstaticcall_poke *entries, size_t count) { (void)entries; (void)count; return ENOSYS; }
void cstaticcall_retire_pokes(void) {}
int cstaticcall_set_known_sites(const uintptr_t *sites, size_t count) { (void)sites; (void)count; return ENOSYS; }
uint64_t cstaticcall_emulated_traps(void) { return 0; }
uint64_t cstaticcall_late_traps(void) { return 0; }
int cstaticcall_membarrier_register_sync_core(void) { return ENOSYS; }
int cstaticcall_membarrier_sync_core(void) { return ENOSYS; }
int cstaticcall_shadow_stack_enabled(void) { return 0; }
uintptr_t cstaticcall_probe_address(void) { return 0; }
uintptr_t cstaticcall_return_0_address(void) { return 0; }
uintptr_t cstaticcall_return_1_address(void) { return 0; }
int cstaticcall_refuse_exec_gain(void) { return ENOSYS; }
int cstaticcall_thread_id(void) { return 0; }
int cstaticcall_memfd_create(const char *name) { (void)name; return -ENOSYS; }
int cstaticcall_mremap_fixed(void *from, size_t size, void *to) { (void)from; (void)size; (void)to; return ENOSYS; }
int cstaticcall_iterate_objects(int (*body)(const cstaticcall_object *, void *), void *context) { (void)body; (void)context; return 0; }
#endif
