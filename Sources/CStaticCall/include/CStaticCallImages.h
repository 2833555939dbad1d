#ifndef CSTATICCALL_IMAGES_H
#define CSTATICCALL_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Hidden, as in CStaticCall.h: every image keeps its own copy (its anchor and destructor above all).
#pragma GCC visibility push(hidden)

// MARK: - The loader (the kernel's module notifier, as far as userspace has one)

/// dl_iterate_phdr's dlpi_adds and dlpi_subs: how many objects have been loaded and unloaded since start.
/// Equal values on two calls mean no object joined or left the list in between.
void cstaticcall_loader_generation(uint64_t *adds, uint64_t *subs);

/// Runs `body(context)` inside a dl_iterate_phdr callback. glibc holds its loader write lock there, and
/// dlclose unmaps an object and unlinks it only while holding that lock: while `body` runs, every listed
/// object stays mapped and no object joins or leaves the list. Nested dl_iterate_phdr calls are allowed
/// (the lock is recursive). `body` must not call dlopen, dlclose, dlsym or dladdr (they take the loader's
/// other lock, which dlclose holds while it waits for this one).
void cstaticcall_with_loader_locked(void (*body)(void *context), void *context);

/// Makes the object containing `address` impossible to unload (dlopen(RTLD_NOLOAD | RTLD_NODELETE) of
/// its own path): the image whose copy of StaticCall serves the process must outlive every key. Returns
/// 0, or -1 when the object could not be found or pinned (the main executable needs no pin). Must not be
/// called with the update lock held.
int cstaticcall_pin_image(const void *address);

/// An address inside this copy's image (its own, hidden, per image).
const void *cstaticcall_image_anchor(void);

// MARK: - One runtime per process

/// A key's registration record: the function that registers it. The `@StaticCall` and `@StaticKey`
/// macros put one per key in the section `staticcall_keys` of the key's image (the analogue of the
/// kernel's `__start_static_call_sites` list), so that patchAll() can register every key up front.
typedef void (*cstaticcall_key_record)(void);

/// A key's state across copies (KeyState): kind 0 target (bits = address), 1 disabled, 2 constant
/// (bits, width in bits).
typedef struct cstaticcall_state {
    uint32_t kind;
    uint32_t width;
    uint64_t bits;
} cstaticcall_state;

/// The entry points of the copy of StaticCall that serves the process, called by every other copy.
/// Plain C so that copies built by different compilers or versions can call each other; the layout of
/// ABI 1 only ever grows at the end (`size` says how much a copy knows).
typedef struct cstaticcall_runtime_v1 {
    /// CSTATICCALL_RUNTIME_ABI of the serving copy. A copy with another value never calls this table.
    uint32_t abi;
    uint32_t size;
    /// The serving copy's library version, for messages.
    const char *version;
    /// An address in the serving image (cstaticcall_image_anchor of that copy).
    const void *anchor;
    /// The layout of a key's storage (StaticCallStorage) and the encoding of its word, as the serving
    /// copy writes them into every copy's keys: a copy that disagrees cannot share the runtime.
    uint32_t storage_size;
    uint32_t word_encoding;

    void (*register_key)(const void *storage, const char *name, uint64_t trampoline_thunk, uint64_t default_target,
                         uint32_t can_disable, uint32_t constant_width, const cstaticcall_state *initial_state);
    void (*set_state)(const void *storage, cstaticcall_state state);
    /// operation: 0 disable, 1 enable, 2 increment, 3 decrement. Returns the new count.
    int64_t (*adjust_static_key)(const void *storage, int32_t operation);
    int64_t (*static_key_count)(const void *storage);
    /// 1 and `*state` if the key is registered, else 0.
    int (*query_state)(const void *storage, cstaticcall_state *state);
    /// 1 and `*target` if the key is registered, else 0.
    int (*default_target)(const void *storage, uint64_t *target);
    /// Runs `body(context)` as one batch (StaticCalls.batch).
    void (*batch)(void (*body)(void *context), void *context);
    /// patchAll(): calls `failed(context, message)` once if any site failed.
    void (*patch_all)(void (*failed)(void *context, const char *message), void *context);
    /// report(): calls `receive(context, bytes, count)` once with the encoded report.
    void (*report)(void (*receive)(void *context, const uint8_t *bytes, size_t count), void *context);
    /// 0 inline, 1 indirect.
    int (*mode)(void);
    /// An image holding a copy of StaticCall is being unloaded (called from that copy's destructor,
    /// before the loader unmaps it): forget its keys and sites, and move keys off targets inside it.
    void (*image_unloading)(const void *anchor);

    /* Since 0.4.0. */
    /// Sets a static key's count exactly (restoring a saved state).
    void (*set_static_key_count)(const void *storage, int64_t count);
    /// Adds an image's key records (its `staticcall_keys` section) to the list that patchAll() registers:
    /// called from each image's constructor. Implemented in C (runs before any Swift code).
    void (*add_key_records)(const void *anchor, cstaticcall_key_record const *start, cstaticcall_key_record const *stop);
    /// Runs `body(context)` with the calling thread's changes applied at once, even inside a batch
    /// (scoped overrides: withTarget, withValue, test traits).
    void (*unbatched)(void (*body)(void *context), void *context);

    /* Since 0.5.0. */
    /// Hands over a key's trampoline jump: the word at `entry` (generated beside the key, statically the
    /// slow path's address `slow_path`) is then kept equal to the key's target while the key holds a plain
    /// target, and to `slow_path` otherwise, with every change of the key's word.
    void (*set_entry)(const void *storage, uintptr_t *entry, uint64_t slow_path);
} cstaticcall_runtime_v1;

#define CSTATICCALL_RUNTIME_ABI 1
/// This copy's library version, carried in its table for other copies' messages.
#define CSTATICCALL_VERSION "0.5.0"
/// StaticCallStorage's size, and the version of its word's encoding (0 unregistered, 1 disabled, 2
/// constant, else a target, followed through pure forwarders; bit 63 counts slow-path calls). Checked by
/// ProcessRuntimeTests.
#define CSTATICCALL_STORAGE_SIZE 24
#define CSTATICCALL_WORD_ENCODING 1

/// This copy's table (published at load by the image's constructor unless another copy was first).
/// NULL where there is no inline mode to share (other platforms).
const cstaticcall_runtime_v1 *cstaticcall_own_runtime(void);

/// Publishes `mine` as the process's runtime unless a copy did so first. Returns the table that serves
/// the process (ours or the earlier one, of whatever ABI: check `abi` before using anything else).
const cstaticcall_runtime_v1 *cstaticcall_claim_runtime(const cstaticcall_runtime_v1 *mine);

/// The published table, or NULL.
const cstaticcall_runtime_v1 *cstaticcall_process_runtime(void);

/// Registers (once) an atexit handler that marks the process as exiting: exit() runs atexit handlers
/// before the loader's destructors, so image_unloading can tell a dlclose from the end of the process.
void cstaticcall_watch_exit(void);
int cstaticcall_process_exiting(void);

/// The key records this copy was given (its own image's, and every image whose copy it serves): calls
/// `each(context, record)` for each, in load order. Records of an image that reported its unloading are
/// dropped (cstaticcall_forget_key_records).
void cstaticcall_each_key_record(void (*each)(void *context, cstaticcall_key_record record), void *context);
void cstaticcall_forget_key_records(const void *anchor);

/// This image's own records (for tests): the number of entries in its `staticcall_keys` section.
size_t cstaticcall_own_key_record_count(void);

/// A function that does nothing: `$f.target` of a disabled key, recognised by `update(to:)`.
uintptr_t cstaticcall_disabled_target_address(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
