#ifndef CFAULTS_H
#define CFAULTS_H

#include <stdint.h>

// Fault injection for the fault-matrix tests: real kernel mechanisms (seccomp, raw fork, signal
// handlers that jump), never a flag inside StaticCall. Every function changes the state of the whole
// process, so the tests call them only in a child process (the integration program).

#ifdef __cplusplus
extern "C" {
#endif

/// Installs a seccomp filter (after PR_SET_NO_NEW_PRIVS) that makes `syscall_number` fail with
/// `error`; with `arg_index` >= 0, only when `args[arg_index] & arg_mask` is non-zero (e.g. mmap and
/// mprotect only with PROT_EXEC, so thread stacks still work). Returns 0 or an errno value.
int cfaults_deny_syscall(long syscall_number, int error, int arg_index, uint64_t arg_mask);

/// Like `cfaults_deny_syscall`, but only when `args[arg_index] == value` (low 32 bits): e.g. pwrite64 of
/// exactly 4 bytes, the tail write of a lone site in the INT3 protocol.
int cfaults_deny_syscall_when_equal(long syscall_number, int error, int arg_index, uint64_t value);

/// The syscall numbers the matrix refuses (x86-64).
long cfaults_nr_pwrite64(void);
long cfaults_nr_mprotect(void);
long cfaults_nr_membarrier(void);
long cfaults_nr_mmap(void);
long cfaults_nr_mremap(void);

/// fork() without fork handlers: syscall(SYS_fork), as a raw clone or _Fork() would. Returns the pid
/// (0 in the child) or -errno.
int cfaults_raw_fork(void);

/// Installs a SIGTRAP handler that siglongjmps back into `cfaults_trap_and_jump` (a handler written the
/// way crash-recovery code is). Returns 0 or errno.
int cfaults_install_jumping_trap_handler(void);

/// sigsetjmp, then raise(SIGTRAP): returns 1 if the handler jumped back here, 0 if raise returned.
int cfaults_trap_and_jump(void);

/// Installs a SIGTRAP handler that counts and returns (SA_SIGINFO). Returns 0 or errno.
int cfaults_install_counting_trap_handler(void);
long cfaults_counted_traps(void);

/// Sets SIGTRAP to SIG_IGN or SIG_DFL (`ignore` 1 or 0). Returns 0 or errno.
int cfaults_set_trap_disposition(int ignore);

/// Installs a handler for `signal` whose sa_mask blocks every signal (SIGTRAP included) and which calls
/// `body` (the way many C libraries write handlers). Returns 0 or errno.
int cfaults_install_masking_handler(int signal, void (*body)(void));

/// Makes stdout line-buffered (Swift 6 cannot name the C global `stdout`).
void cfaults_line_buffer_stdout(void);

#ifdef __cplusplus
}
#endif
#endif
