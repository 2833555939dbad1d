#ifndef CSTATICCALL_H
#define CSTATICCALL_H

#include <stddef.h>
#include <stdint.h>

#include "CStaticCallImages.h"

#ifdef __cplusplus
extern "C" {
#endif

// Every function here is hidden: each image that links StaticCall keeps its own, even where the dynamic
// linker would otherwise bind one image's references to another's exported copy (a later copy would then
// run an earlier copy's C code, of another version, with its own Swift code).
#pragma GCC visibility push(hidden)

/// What a trapped thread must do instead of the instruction being written at a site: the *new*
/// instruction, emulated by editing the signal context (the kernel's poke_int3_handler()).
typedef enum cstaticcall_emulation {
    CSTATICCALL_EMULATE_CALL = 1,  /* push site+5, jump to operand */
    CSTATICCALL_EMULATE_JUMP = 2,  /* jump to operand */
    CSTATICCALL_EMULATE_NOP = 3,   /* resume at site+5 */
    CSTATICCALL_EMULATE_LOAD = 4,  /* rax = operand, resume at site+5 */
    CSTATICCALL_EMULATE_RET = 5,   /* pop the return address and jump to it */
} cstaticcall_emulation;

/// One site being patched.
typedef struct cstaticcall_poke {
    uintptr_t site;
    uintptr_t operand;
    uint32_t emulation;
    uint32_t reserved;
} cstaticcall_poke;

/// Installs the SIGTRAP handler, or re-installs it if someone replaced it since (then chaining to the
/// replacement). Returns 0 or an errno value.
int cstaticcall_install_trap_handler(void);

/// 1 if the current SIGTRAP disposition is this library's handler.
int cstaticcall_trap_handler_is_installed(void);

/// Publishes a copy of `entries` (sorted by site) as the in-flight table. Returns 0 or ENOMEM.
int cstaticcall_publish_pokes(const cstaticcall_poke *entries, size_t count);

/// Withdraws the in-flight table and returns once no thread can still be reading it.
void cstaticcall_retire_pokes(void);

/// Replaces the set of every site ever patched (sorted), for traps delivered after their patch finished.
int cstaticcall_set_known_sites(const uintptr_t *sites, size_t count);

/// In a child process after fork (with or without fork handlers): forgets readers of the tables that
/// were threads of the parent.
void cstaticcall_reset_after_fork(void);

/// Traps this library has emulated (in-flight) and resumed (late), since start.
uint64_t cstaticcall_emulated_traps(void);
uint64_t cstaticcall_late_traps(void);

/// membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE). Returns 0 or an errno value.
int cstaticcall_membarrier_register_sync_core(void);

/// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE): every thread of this process serialises its
/// instruction stream before this returns (the kernel's text_poke_sync()). Returns 0 or an errno value.
int cstaticcall_membarrier_sync_core(void);

/// 1 if this thread runs with a user shadow stack (CET), where emulating a CALL from a signal handler
/// would break the matching RET.
int cstaticcall_shadow_stack_enabled(void);

/// The address of a function that is never called, whose first byte the runtime rewrites with its own
/// value to probe whether a text writer works before touching any real site.
uintptr_t cstaticcall_probe_address(void);

/// One loaded object, as dl_iterate_phdr reports it.
typedef struct cstaticcall_object {
    uintptr_t bias;
    const char *name;
    const void *program_headers; /* Elf64_Phdr[phnum] */
    uint16_t program_header_count;
} cstaticcall_object;

/// Calls `body` for every loaded object (dl_iterate_phdr). Returns what the last call returned.
int cstaticcall_iterate_objects(int (*body)(const cstaticcall_object *object, void *context), void *context);

/// Functions that return 0 and 1 (in %rax, so also for Bool and every integer width): the targets of
/// tail sites whose key holds the constant 0 or 1 (`jmp cstaticcall_return_1` where a tail site cannot
/// load a constant and return in one instruction).
uintptr_t cstaticcall_return_0_address(void);
uintptr_t cstaticcall_return_1_address(void);

/// Marks `thread` (a pthread handle as a number) as running one of StaticCall's one-time initializers:
/// returns the mark to pass to `cstaticcall_unmark_initializing` when it returns (-1: not marked, more
/// initializers at once than marks). `cstaticcall_is_initializing` says whether `thread` holds a mark. A
/// signal handler that interrupted such an initializer and calls StaticCall finds its own thread marked
/// and stops with a message, instead of waiting forever for the initializer its own thread is running.
int cstaticcall_mark_initializing(uintptr_t thread);
void cstaticcall_unmark_initializing(int mark);
int cstaticcall_is_initializing(uintptr_t thread);

/// How many functions `cstaticcall_constant_function` can hand out.
#define CSTATICCALL_CONSTANT_FUNCTIONS 64

/// The address of a function that returns `value` (in the first integer return register: `%rax`, `x0`,
/// so for Bool and every integer width), made from fixed slot `slot` (< CSTATICCALL_CONSTANT_FUNCTIONS):
/// what `$f.target` hands out while a key holds a constant, on every platform and without executable
/// memory, and (x86-64 Linux) what a tail site, or a call site whose constant no 5-byte load holds,
/// calls or jumps to. The caller gives each slot one value, once, before handing its address to anyone.
uintptr_t cstaticcall_constant_function(size_t slot, uint64_t value);

/// mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to): moves a mapping over whatever is mapped at
/// `to`, atomically for every other thread (they fault and wait for the new page). Returns 0 or errno.
int cstaticcall_mremap_fixed(void *from, size_t size, void *to);

/// memfd_create(name, MFD_CLOEXEC): a file in memory, for stub pages that are written before they are
/// mapped and never mapped writable. Returns the descriptor or -errno.
int cstaticcall_memfd_create(const char *name);

/// The calling thread's id (gettid).
int cstaticcall_thread_id(void);

/// prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): for tests of the refused-mprotect path. Returns 0 or errno.
int cstaticcall_refuse_exec_gain(void);

/// An atomic store with release ordering of `value` into the word at `slot`: a key's trampoline jump
/// (the generated `entry`, a `var` of a thin function type that the trampoline reads with a plain load,
/// as the kernel's generic static_call reads `key.func`).
void cstaticcall_store_release(uintptr_t *slot, uintptr_t value);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
