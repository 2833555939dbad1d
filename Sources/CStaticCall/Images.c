// Images: the loader lock, pinning, and the one-runtime-per-process rendezvous. Each function says why
// it is in C.
#define _GNU_SOURCE
#include "CStaticCallImages.h"

#include "Engine.h"

#if defined(CSTATICCALL_ENGINE)
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Why C: dlpi_adds/dlpi_subs exist only in the C struct given to a dl_iterate_phdr callback. */
static int read_generation(struct dl_phdr_info *info, size_t size, void *data) {
    uint64_t *out = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        out[0] = info->dlpi_adds;
        out[1] = info->dlpi_subs;
    }
    return 1; /* the counters are the same in every entry: stop after the first */
}

void cstaticcall_loader_generation(uint64_t *adds, uint64_t *subs) {
    uint64_t g[2] = { 0, 0 };
    dl_iterate_phdr(read_generation, g);
    *adds = g[0];
    *subs = g[1];
}

/* Why C: the loader's lock can be held only from inside a dl_iterate_phdr callback. */
struct locked_body {
    void (*body)(void *);
    void *context;
    int ran;
};

static int run_locked(struct dl_phdr_info *info, size_t size, void *data) {
    (void)info;
    (void)size;
    struct locked_body *b = data;
    b->ran = 1;
    b->body(b->context);
    return 1;
}

void cstaticcall_with_loader_locked(void (*body)(void *), void *context) {
    struct locked_body b = { body, context, 0 };
    dl_iterate_phdr(run_locked, &b);
    if (!b.ran) body(context); /* no object at all (a static executable): nothing can be unloaded */
}

/* Why C: dladdr and dlopen's RTLD_NODELETE promotion have no Swift overlay worth the indirection. */
int cstaticcall_pin_image(const void *address) {
    Dl_info info;
    if (dladdr(address, &info) == 0 || info.dli_fname == NULL) return -1;
    void *pinned = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    /* NULL for the main executable, which is never unloaded anyway. The handle's reference is kept. */
    return pinned == NULL ? -1 : 0;
}

/* Why C: a hidden symbol gives every image its own anchor, whichever copy of the code asks. */
__attribute__((visibility("hidden"))) const char cstaticcall_anchor_byte = 0;
const void *cstaticcall_image_anchor(void) { return &cstaticcall_anchor_byte; }

/* Why C (and assembly): the slot every copy of StaticCall in the process agrees on. It is a
   STB_GNU_UNIQUE object: the dynamic linker binds every reference in the process, from the executable
   or from a library opened with RTLD_LOCAL, to the first definition loaded, which C has no way to
   declare. (gold, the Swift toolchain's linker on Linux, exports it from executables; lld and bfd do not,
   see the README, "Plugins".) */
__asm__(".globl cstaticcall_process_runtime_v1\n"
        ".type cstaticcall_process_runtime_v1, @gnu_unique_object\n"
        ".section .bss.cstaticcall_process_runtime_v1,\"aw\",@nobits\n"
        ".balign 8\n"
        "cstaticcall_process_runtime_v1:\n"
        ".zero 8\n"
        ".size cstaticcall_process_runtime_v1, 8\n"
        ".text\n");
extern __attribute__((visibility("default"))) const cstaticcall_runtime_v1 *cstaticcall_process_runtime_v1;

/* The slot this image uses: the process's first definition in the global scope (dlsym), else its own
   reference. The two differ only when the executable defines the slot without exporting it (linked with
   lld or bfd, which do not export a unique symbol from an executable): the executable's copy then still
   finds a library's copy that was loaded with it. Set by the constructor, before any other use. */
static const cstaticcall_runtime_v1 **process_slot;

static const cstaticcall_runtime_v1 **slot(void) {
    const cstaticcall_runtime_v1 **s = __atomic_load_n(&process_slot, __ATOMIC_ACQUIRE);
    return s != NULL ? s : &cstaticcall_process_runtime_v1;
}

const cstaticcall_runtime_v1 *cstaticcall_claim_runtime(const cstaticcall_runtime_v1 *mine) {
    const cstaticcall_runtime_v1 *expected = NULL;
    if (__atomic_compare_exchange_n(slot(), &expected, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return mine;
    return expected;
}

const cstaticcall_runtime_v1 *cstaticcall_process_runtime(void) { return __atomic_load_n(slot(), __ATOMIC_ACQUIRE); }

/* This copy's entry points, implemented in Swift (Runtime/RuntimeEntryPoints.swift, @_cdecl), hidden so
   that each image's table calls its own copy. */
#define HIDDEN __attribute__((visibility("hidden")))
HIDDEN void cstaticcall_swift_register_key(const void *, const char *, uint64_t, uint64_t, uint32_t, uint32_t,
                                           const cstaticcall_state *);
HIDDEN void cstaticcall_swift_set_state(const void *, cstaticcall_state);
HIDDEN int64_t cstaticcall_swift_adjust_static_key(const void *, int32_t);
HIDDEN int64_t cstaticcall_swift_static_key_count(const void *);
HIDDEN int cstaticcall_swift_query_state(const void *, cstaticcall_state *);
HIDDEN int cstaticcall_swift_default_target(const void *, uint64_t *);
HIDDEN void cstaticcall_swift_batch(void (*)(void *), void *);
HIDDEN void cstaticcall_swift_patch_all(void (*)(void *, const char *), void *);
HIDDEN void cstaticcall_swift_report(void (*)(void *, const uint8_t *, size_t), void *);
HIDDEN int cstaticcall_swift_mode(void);
HIDDEN void cstaticcall_swift_image_unloading(const void *);
HIDDEN void cstaticcall_swift_set_static_key_count(const void *, int64_t);
HIDDEN void cstaticcall_swift_unbatched(void (*)(void *), void *);
HIDDEN void cstaticcall_swift_set_entry(const void *, uintptr_t *, uint64_t);

/* Why C: an image's records are handed over from its constructor, before Swift code may run. The list
   lives in the copy that serves the process; it grows while images load (their constructors run one at
   a time, under the loader's lock) and shrinks when an unpinned image reports its unloading. */
struct key_records {
    const void *anchor;
    cstaticcall_key_record const *start, *stop;
};
static struct key_records *record_lists;
static size_t record_list_count, record_list_capacity;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static void lock_records(void) { pthread_mutex_lock(&record_lock); }
static void unlock_records(void) { pthread_mutex_unlock(&record_lock); }
static int first_object_contains(struct dl_phdr_info *info, size_t size, void *data);

static void add_key_records(const void *anchor, cstaticcall_key_record const *start, cstaticcall_key_record const *stop) {
    if (start == NULL || stop <= start) return;
    lock_records();
    if (record_list_count == record_list_capacity) {
        size_t capacity = record_list_capacity < 16 ? 16 : 2 * record_list_capacity;
        struct key_records *grown = realloc(record_lists, capacity * sizeof *grown);
        if (grown != NULL) {
            record_lists = grown;
            record_list_capacity = capacity;
        }
    }
    /* Out of memory: this image's keys register at their first call, as without records. */
    if (record_list_count < record_list_capacity)
        record_lists[record_list_count++] = (struct key_records){anchor, start, stop};
    unlock_records();
}

void cstaticcall_forget_key_records(const void *anchor) {
    lock_records();
    size_t kept = 0;
    for (size_t i = 0; i < record_list_count; i++)
        if (record_lists[i].anchor != anchor) record_lists[kept++] = record_lists[i];
    record_list_count = kept;
    unlock_records();
}

static int still_listed(struct key_records entry) {
    int found = 0;
    lock_records();
    for (size_t i = 0; i < record_list_count && !found; i++)
        found = record_lists[i].anchor == entry.anchor && record_lists[i].start == entry.start && record_lists[i].stop == entry.stop;
    unlock_records();
    return found;
}

void cstaticcall_each_key_record(void (*each)(void *, cstaticcall_key_record), void *context) {
    /* A copy of the list, so that no lock of ours is held while a record registers its key. */
    lock_records();
    size_t n = record_list_count;
    struct key_records *copy = n == 0 ? NULL : malloc(n * sizeof *copy);
    if (copy != NULL) memcpy(copy, record_lists, n * sizeof *copy);
    unlock_records();
    if (copy == NULL) return;
    for (size_t i = 0; i < n; i++) {
        /* An image other than the main program is held open while its records run, so that a dlclose
           on another thread cannot unmap it meanwhile. dlopen(RTLD_NOLOAD) also waits for a dlopen in
           progress on another thread (the loader's lock is held across it, constructors included), so
           an image whose constructor has handed over its records but whose loading has not finished is
           complete by the time its records run; NULL means it is gone (or its dlopen failed). */
        void *handle = NULL;
        if (dl_iterate_phdr(first_object_contains, (void *)copy[i].anchor) != 2) {
            Dl_info info;
            if (dladdr(copy[i].anchor, &info) == 0 || info.dli_fname == NULL) continue;
            handle = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
            if (handle == NULL) continue;
            if (!still_listed(copy[i])) { /* unloaded, and another image loaded at its address */
                dlclose(handle);
                continue;
            }
        }
        for (cstaticcall_key_record const *r = copy[i].start; r < copy[i].stop; r++)
            if (*r != NULL) each(context, *r);
        if (handle != NULL) dlclose(handle);
    }
    free(copy);
}

/* The linker defines these for the section the macros' records go to (its name is a C identifier);
   weak, so that an image without keys links as well. Hidden: each image sees its own section. */
extern cstaticcall_key_record const __start_staticcall_keys[] __attribute__((weak, visibility("hidden")));
extern cstaticcall_key_record const __stop_staticcall_keys[] __attribute__((weak, visibility("hidden")));

size_t cstaticcall_own_key_record_count(void) {
    return __start_staticcall_keys == NULL ? 0 : (size_t)(__stop_staticcall_keys - __start_staticcall_keys);
}

/* Why C: the table must exist, and be claimed, before any Swift code of this image runs (below). */
static const cstaticcall_runtime_v1 own_runtime = {
    .abi = CSTATICCALL_RUNTIME_ABI,
    .size = sizeof(cstaticcall_runtime_v1),
    .version = CSTATICCALL_VERSION,
    .anchor = &cstaticcall_anchor_byte,
    .storage_size = CSTATICCALL_STORAGE_SIZE,
    .word_encoding = CSTATICCALL_WORD_ENCODING,
    .register_key = cstaticcall_swift_register_key,
    .set_state = cstaticcall_swift_set_state,
    .adjust_static_key = cstaticcall_swift_adjust_static_key,
    .static_key_count = cstaticcall_swift_static_key_count,
    .query_state = cstaticcall_swift_query_state,
    .default_target = cstaticcall_swift_default_target,
    .batch = cstaticcall_swift_batch,
    .patch_all = cstaticcall_swift_patch_all,
    .report = cstaticcall_swift_report,
    .mode = cstaticcall_swift_mode,
    .image_unloading = cstaticcall_swift_image_unloading,
    .set_static_key_count = cstaticcall_swift_set_static_key_count,
    .add_key_records = add_key_records,
    .unbatched = cstaticcall_swift_unbatched,
    .set_entry = cstaticcall_swift_set_entry,
};

const cstaticcall_runtime_v1 *cstaticcall_own_runtime(void) { return &own_runtime; }

/* Why C: a function with a known body and an address that no Swift function shares, which Swift can
   take without a thin conversion: the target `$f.target` hands out while a key is disabled, turned back
   into the disabled state by update(to:). Its body only returns, which is what a disabled call does. */
__attribute__((noinline, used)) static void disabled_target(void) { __asm__ volatile(""); }
uintptr_t cstaticcall_disabled_target_address(void) { return (uintptr_t)&disabled_target; }

/* Why C: a constructor runs when the image is loaded, before any of its code; Swift has no constructor
   attribute (and Swift code must not run this early).

   Claiming here rather than at a key's first call makes the images loaded at start-up (the executable
   and its libraries) serve the process rather than a plugin opened later.

   Every image holding a copy is pinned (RTLD_NODELETE): the Swift runtime cannot unload a Swift image
   (swift_addNewDSOImage has no counterpart; its conformance tables and its cache of foreign type
   metadata keep pointers into the image, and a lookup after dlclose reads unmapped memory: both
   reproduced here with a plugin of this package), and StaticCall's own C types are such foreign types,
   shared by every copy. dlclose of such an image then leaves it loaded; dlopen again returns it.

   dlsym and dlopen are called here, in a constructor, and never under the runtime's locks. */
/* Whether this image can never be unloaded (pinned, or the main program): its destructor then runs only
   during exit(), when there is nothing to report. */
static int permanent;

static int first_object_contains(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t address = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && address >= start && address < start + ph->p_memsz) return 2;
    }
    return 1; /* the first entry is the main program: stop there */
}

__attribute__((constructor)) static void claim_at_load(void) {
    const cstaticcall_runtime_v1 **global = dlsym(RTLD_DEFAULT, "cstaticcall_process_runtime_v1");
    __atomic_store_n(&process_slot, global != NULL ? global : &cstaticcall_process_runtime_v1, __ATOMIC_RELEASE);
    const cstaticcall_runtime_v1 *winner = cstaticcall_claim_runtime(&own_runtime);
    /* This image's key records go to the copy that will register them: the serving one if it can take
       them (same ABI, a table that has the entry), else this copy (which then runs its keys alone). */
    const cstaticcall_runtime_v1 *keeper = &own_runtime;
    if (winner != NULL && winner->abi == CSTATICCALL_RUNTIME_ABI
        && winner->size >= offsetof(cstaticcall_runtime_v1, add_key_records) + sizeof(winner->add_key_records)
        && winner->add_key_records != NULL)
        keeper = winner;
    keeper->add_key_records(&cstaticcall_anchor_byte, __start_staticcall_keys, __stop_staticcall_keys);
    /* The record list's lock must be free in a child (a fork while another thread copies the list). */
    pthread_atfork(lock_records, unlock_records, unlock_records);
    int in_main = dl_iterate_phdr(first_object_contains, (void *)&cstaticcall_anchor_byte) == 2;
    permanent = in_main || cstaticcall_pin_image(&cstaticcall_anchor_byte) == 0;
}

/* Why C: a destructor runs when this image is unloaded (dlclose) and before the loader unmaps it; Swift
   has no destructor attribute. Only an image that could not be pinned reports it (a permanent image's
   destructor runs during exit(), possibly before any atexit handler registered earlier). */
__attribute__((destructor)) static void image_unloading(void) {
    if (permanent) return;
    const cstaticcall_runtime_v1 *runtime = cstaticcall_process_runtime();
    if (runtime == NULL || runtime->abi != CSTATICCALL_RUNTIME_ABI
        || runtime->size < offsetof(cstaticcall_runtime_v1, image_unloading) + sizeof(runtime->image_unloading)
        || runtime->image_unloading == NULL)
        return;
    runtime->image_unloading(cstaticcall_image_anchor());
}

/* Why C: atexit takes a C function pointer, and the flag must be readable from a destructor. Registered
   from Swift at the serving copy's first use, after main() began, so that it runs before the loader's
   destructors (atexit handlers run in reverse order; _dl_fini is registered before main). */
static int exiting;
static void note_exit(void) { __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE); }
void cstaticcall_watch_exit(void) {
    static int watching;
    if (__atomic_exchange_n(&watching, 1, __ATOMIC_ACQ_REL) == 0) atexit(note_exit);
}
int cstaticcall_process_exiting(void) { return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE); }

#else
void cstaticcall_each_key_record(void (*each)(void *, cstaticcall_key_record), void *context) { (void)each; (void)context; }
void cstaticcall_forget_key_records(const void *anchor) { (void)anchor; }
size_t cstaticcall_own_key_record_count(void) { return 0; }
static void disabled_target(void) {}
uintptr_t cstaticcall_disabled_target_address(void) { return (uintptr_t)&disabled_target; }
void cstaticcall_loader_generation(uint64_t *adds, uint64_t *subs) { *adds = 0; *subs = 0; }
void cstaticcall_with_loader_locked(void (*body)(void *), void *context) { body(context); }
int cstaticcall_pin_image(const void *address) { (void)address; return -1; }
static const char anchor_byte = 0;
const void *cstaticcall_image_anchor(void) { return &anchor_byte; }
static const cstaticcall_runtime_v1 *process_runtime;
const cstaticcall_runtime_v1 *cstaticcall_claim_runtime(const cstaticcall_runtime_v1 *mine) {
    const cstaticcall_runtime_v1 *expected = NULL;
    if (__atomic_compare_exchange_n(&process_runtime, &expected, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return mine;
    return expected;
}
const cstaticcall_runtime_v1 *cstaticcall_process_runtime(void) { return __atomic_load_n(&process_runtime, __ATOMIC_ACQUIRE); }
void cstaticcall_watch_exit(void) {}
int cstaticcall_process_exiting(void) { return 0; }
const cstaticcall_runtime_v1 *cstaticcall_own_runtime(void) { return NULL; }
#endif
