// Fault injection for the fault-matrix tests; see CFaults.h. Why C: seccomp's BPF program, the
// variadic syscall(), and sigsetjmp/siglongjmp (which return twice) have no Swift spelling.
#define _GNU_SOURCE
#include "CFaults.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static int deny(long nr, int error, int arg_index, uint32_t compare, uint64_t arg_value) {
    struct sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_filter deny = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (error & SECCOMP_RET_DATA));
    struct sock_filter program[16];
    int n = 0;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    program[n++] = allow_all;
    program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    if (arg_index < 0) {
        program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
        program[n++] = deny;
        program[n++] = allow_all;
    } else {
        /* The low 32 bits of the argument are enough for PROT_* masks and write sizes. */
        program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 3);
        program[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 8 * arg_index);
        program[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | compare | BPF_K, (uint32_t)arg_value, 0, 1);
        program[n++] = deny;
        program[n++] = allow_all;
    }
    struct sock_fprog fprog = { .len = (unsigned short)n, .filter = program };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) return errno;
    return 0;
}

int cfaults_deny_syscall(long nr, int error, int arg_index, uint64_t arg_mask) {
    return deny(nr, error, arg_index, BPF_JSET, arg_mask);
}

int cfaults_deny_syscall_when_equal(long nr, int error, int arg_index, uint64_t value) {
    return deny(nr, error, arg_index, BPF_JEQ, value);
}

long cfaults_nr_pwrite64(void) { return SYS_pwrite64; }
long cfaults_nr_mprotect(void) { return SYS_mprotect; }
long cfaults_nr_membarrier(void) { return SYS_membarrier; }
long cfaults_nr_mmap(void) { return SYS_mmap; }
long cfaults_nr_mremap(void) { return SYS_mremap; }

int cfaults_raw_fork(void) {
    long pid = syscall(SYS_fork);
    return pid < 0 ? -errno : (int)pid;
}

static sigjmp_buf jump_target;
static volatile sig_atomic_t jump_armed;

static void jumping_handler(int sig) {
    (void)sig;
    if (jump_armed) siglongjmp(jump_target, 1);
}

int cfaults_install_jumping_trap_handler(void) {
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = jumping_handler;
    sigemptyset(&a.sa_mask);
    return sigaction(SIGTRAP, &a, NULL) == 0 ? 0 : errno;
}

int cfaults_trap_and_jump(void) {
    if (sigsetjmp(jump_target, 1) != 0) {
        jump_armed = 0;
        return 1;
    }
    jump_armed = 1;
    raise(SIGTRAP);
    jump_armed = 0;
    return 0;
}

static volatile long counted;
static void counting_handler(int sig, siginfo_t *info, void *context) {
    (void)sig; (void)info; (void)context;
    counted++;
}

int cfaults_install_counting_trap_handler(void) {
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_sigaction = counting_handler;
    a.sa_flags = SA_SIGINFO;
    sigemptyset(&a.sa_mask);
    return sigaction(SIGTRAP, &a, NULL) == 0 ? 0 : errno;
}

long cfaults_counted_traps(void) { return counted; }

int cfaults_set_trap_disposition(int ignore) {
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = ignore ? SIG_IGN : SIG_DFL;
    sigemptyset(&a.sa_mask);
    return sigaction(SIGTRAP, &a, NULL) == 0 ? 0 : errno;
}

static void (*masking_body[65])(void);
static void masking_handler(int sig) {
    if (sig > 0 && sig < 65 && masking_body[sig]) masking_body[sig]();
}

int cfaults_install_masking_handler(int signal, void (*body)(void)) {
    if (signal <= 0 || signal >= 65) return EINVAL;
    masking_body[signal] = body;
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = masking_handler;
    sigfillset(&a.sa_mask);
    a.sa_flags = SA_RESTART;
    return sigaction(signal, &a, NULL) == 0 ? 0 : errno;
}

void cfaults_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
