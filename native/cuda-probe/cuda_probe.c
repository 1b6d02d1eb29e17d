/*
 * The CUDA launch probe: counts GPU work submitted and not yet completed, per GPU, in a process that runs CUDA,
 * without the process changing a line, and shares the counts with drover-agent through a mapped page
 * (drover_probe_page.h).
 *
 * How it gets in: LD_PRELOAD, not CUDA_INJECTION64_PATH. The injection path is the driver's hook for CUPTI-based
 * tools: the driver loads the library at cuInit and the library must then subscribe to CUPTI's driver-API
 * callbacks, which needs libcupti from the toolkit on the node, runs every driver call through CUPTI's dispatch
 * (not only launches), and holds the one injection slot a profiler (Nsight, DCGM's profiling) also wants. A
 * preloaded library interposes the launch entry points themselves: no CUPTI, no cost on calls it does not wrap, and
 * it works the same against the real driver and against the stand-in libcuda. It is loaded into every process of
 * the instance (its shell, setpriv), so it does nothing until CUDA is used: no thread, no file, no allocation.
 *
 * What it wraps: cuLaunchKernel, cuLaunchKernelEx, cuLaunchCooperativeKernel and cuGraphLaunch, each with its _ptsz
 * (per-thread default stream) variant; cuCtxDestroy/_v2 and cuDevicePrimaryCtxReset/_v2 (to reset counts); and
 * the three ways a caller finds them:
 *   - by symbol (a program linked against libcuda): the probe exports the same names and comes first;
 *   - by dlsym on libcuda's handle, which looks only in libcuda: the probe replaces dlsym (as HAMi-core does),
 *     returns its wrappers for the names it wraps and forwards every other lookup to glibc's dlsym by a tail jump,
 *     so glibc sees the original caller's return address and RTLD_NEXT means what the caller meant;
 *   - by cuGetProcAddress/cuGetProcAddress_v2, how the CUDA runtime and the frameworks find entry points since CUDA
 *     11.3: the probe asks the driver first, with the caller's version and flags, and swaps what it got for the
 *     wrapper of exactly that entry point (the _ptsz one when the flags asked for per-thread default streams), so
 *     the version and stream semantics the caller asked for are kept. A request for cuGetProcAddress itself gets
 *     the probe's, so nested look-ups are caught too.
 *
 * What it counts: launches that succeed, outside stream capture (cuStreamIsCapturing; a captured launch submits
 * nothing, the graph's launch does, once). Per stream a sequence number; after a submission an event
 * (CU_EVENT_DISABLE_TIMING) is recorded on the stream, or, while more than DROVER_GPU_PROBE_LOAD_EVENTS events are
 * pending there (under load), after every Nth (DROVER_GPU_PROBE_EVENT_EVERY, default 8); the probe's poller thread
 * retires them with cuEventQuery, and since a stream runs in order one completed event retires every submission
 * before it. A stream's tail left without an event once the load stops is marked by the poller (only on explicit
 * streams: a per-thread default stream is reachable only from its own thread, so those always get an event). Per
 * device (its UUID from cuDeviceGetUuid_v2, NVML's, whatever CUDA_VISIBLE_DEVICES says): submitted, completed, in
 * flight, and the oldest in-flight submission's age. A context destroyed (through the probe) or failed with a
 * sticky error (ILLEGAL_ADDRESS, LAUNCH_FAILED...) has its work in flight abandoned: it never completes.
 *
 * What it does not count: other processes on the GPU (each process has its own page), work under MPS from other
 * clients, async copies and memsets, and launches through an entry point the driver handed out at an address the
 * probe could not match (counted in the page's `passthrough`).
 *
 * Environment: DROVER_GPU_PROBE_DIR (where the page goes; without it nothing is published),
 * DROVER_GPU_PROBE_POLL_US (the poller's period while work is in flight, default 1000; 100 ms when idle),
 * DROVER_GPU_PROBE_EVENT_EVERY, DROVER_GPU_PROBE_LOAD_EVENTS (default 32).
 */

#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drover_cuda.h"
#include "drover_probe_page.h"

#define API __attribute__((visibility("default")))

/* ---- the real driver --------------------------------------------------------------------------------- */

typedef CUresult (*cuCtxGetCurrent_t)(CUcontext *);
typedef CUresult (*cuCtxSetCurrent_t)(CUcontext);
typedef CUresult (*cuCtxGetDevice_t)(CUdevice *);
typedef CUresult (*cuCtxDestroy_t)(CUcontext);
typedef CUresult (*cuDevicePrimaryCtxReset_t)(CUdevice);
typedef CUresult (*cuDeviceGetUuid_t)(CUuuid *, CUdevice);
typedef CUresult (*cuStreamIsCapturing_t)(CUstream, CUstreamCaptureStatus *);
typedef CUresult (*cuEventCreate_t)(CUevent *, unsigned int);
typedef CUresult (*cuEventDestroy_t)(CUevent);
typedef CUresult (*cuEventRecord_t)(CUevent, CUstream);
typedef CUresult (*cuEventQuery_t)(CUevent);
typedef CUresult (*cuThreadExchangeStreamCaptureMode_t)(CUstreamCaptureMode *);

/* The wrapped entry points, in one table: the wrapper i stands for the real entry point i. */
enum {
    W_LAUNCH, W_LAUNCH_PTSZ, W_LAUNCH_EX, W_LAUNCH_EX_PTSZ, W_COOP, W_COOP_PTSZ, W_GRAPH, W_GRAPH_PTSZ,
    W_GETPROC, W_GETPROC_V2, W_CTX_DESTROY, W_CTX_DESTROY_V2, W_PRIMARY_RESET, W_PRIMARY_RESET_V2, W_COUNT
};

static const char *const g_names[W_COUNT] = {
    "cuLaunchKernel", "cuLaunchKernel_ptsz", "cuLaunchKernelEx", "cuLaunchKernelEx_ptsz",
    "cuLaunchCooperativeKernel", "cuLaunchCooperativeKernel_ptsz", "cuGraphLaunch", "cuGraphLaunch_ptsz",
    "cuGetProcAddress", "cuGetProcAddress_v2", "cuCtxDestroy", "cuCtxDestroy_v2",
    "cuDevicePrimaryCtxReset", "cuDevicePrimaryCtxReset_v2",
};

/* The name cuGetProcAddress is asked for (without suffixes), and whether the entry is the per-thread one. */
static const char *const g_base[W_COUNT] = {
    "cuLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx", "cuLaunchKernelEx",
    "cuLaunchCooperativeKernel", "cuLaunchCooperativeKernel", "cuGraphLaunch", "cuGraphLaunch",
    "cuGetProcAddress", "cuGetProcAddress", "cuCtxDestroy", "cuCtxDestroy",
    "cuDevicePrimaryCtxReset", "cuDevicePrimaryCtxReset",
};
static const int g_per_thread[W_COUNT] = { 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0 };

static void *g_real[W_COUNT];
static void *g_wrappers[W_COUNT];

static struct {
    cuCtxGetCurrent_t ctx_get_current;
    cuCtxSetCurrent_t ctx_set_current;
    cuCtxGetDevice_t ctx_get_device;
    cuDeviceGetUuid_t device_get_uuid;
    cuStreamIsCapturing_t stream_is_capturing;
    cuEventCreate_t event_create;
    cuEventDestroy_t event_destroy;
    cuEventRecord_t event_record;
    cuEventQuery_t event_query;
    cuThreadExchangeStreamCaptureMode_t exchange_capture_mode;
} g_cu;

/* glibc's dlsym; the exported dlsym below jumps to it for every name the probe does not wrap. */
void *(*g_real_dlsym)(void *, const char *);

static _Atomic int g_bound;
static pthread_mutex_t g_bind_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t g_passthrough;

static void find_real_dlsym(void)
{
    if (g_real_dlsym == NULL) {
        void *found = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
        if (found == NULL) {
            found = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
        }
        g_real_dlsym = (void *(*)(void *, const char *))found;
    }
}

/* Binds the probe to the libcuda the process uses: the handle a dlsym came with, else the one loaded. */
static int bind_cuda(void *handle)
{
    if (atomic_load_explicit(&g_bound, memory_order_acquire)) {
        return 1;
    }
    pthread_mutex_lock(&g_bind_lock);
    find_real_dlsym();
    if (!atomic_load(&g_bound) && g_real_dlsym != NULL) {
        void *library = NULL;
        if (handle != NULL && handle != RTLD_DEFAULT && handle != RTLD_NEXT && g_real_dlsym(handle, "cuLaunchKernel") != NULL) {
            library = handle;
        }
        if (library == NULL) {
            library = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
        }
        if (library == NULL) {
            /* Linked against libcuda under another soname, or a path: find it through the global scope. */
            Dl_info info;
            void *symbol = g_real_dlsym(RTLD_NEXT, "cuLaunchKernel");
            if (symbol != NULL && dladdr(symbol, &info) != 0 && info.dli_fname != NULL) {
                library = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
            }
        }
        if (library != NULL) {
            for (int i = 0; i < W_COUNT; i++) {
                g_real[i] = g_real_dlsym(library, g_names[i]);
            }
            g_cu.ctx_get_current = (cuCtxGetCurrent_t)g_real_dlsym(library, "cuCtxGetCurrent");
            g_cu.ctx_set_current = (cuCtxSetCurrent_t)g_real_dlsym(library, "cuCtxSetCurrent");
            g_cu.ctx_get_device = (cuCtxGetDevice_t)g_real_dlsym(library, "cuCtxGetDevice");
            g_cu.device_get_uuid = (cuDeviceGetUuid_t)g_real_dlsym(library, "cuDeviceGetUuid_v2");
            if (g_cu.device_get_uuid == NULL) {
                g_cu.device_get_uuid = (cuDeviceGetUuid_t)g_real_dlsym(library, "cuDeviceGetUuid");
            }
            g_cu.stream_is_capturing = (cuStreamIsCapturing_t)g_real_dlsym(library, "cuStreamIsCapturing");
            g_cu.event_create = (cuEventCreate_t)g_real_dlsym(library, "cuEventCreate");
            g_cu.event_destroy = (cuEventDestroy_t)g_real_dlsym(library, "cuEventDestroy_v2");
            g_cu.event_record = (cuEventRecord_t)g_real_dlsym(library, "cuEventRecord");
            g_cu.event_query = (cuEventQuery_t)g_real_dlsym(library, "cuEventQuery");
            g_cu.exchange_capture_mode = (cuThreadExchangeStreamCaptureMode_t)g_real_dlsym(library, "cuThreadExchangeStreamCaptureMode");
            atomic_store_explicit(&g_bound, 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&g_bind_lock);
    return atomic_load(&g_bound);
}

/* Whether counting can work: the calls the bookkeeping needs exist. Without them the wrappers only forward. */
static int can_count(void)
{
    return g_cu.ctx_get_current != NULL && g_cu.ctx_get_device != NULL && g_cu.device_get_uuid != NULL &&
           g_cu.stream_is_capturing != NULL && g_cu.event_create != NULL && g_cu.event_record != NULL &&
           g_cu.event_query != NULL;
}

/* ---- settings ---------------------------------------------------------------------------------------- */

static unsigned g_event_every = 8;
static unsigned g_load_events = 32;
static unsigned g_poll_us = 1000;
static _Atomic int g_settings_read;

static unsigned env_unsigned(const char *name, unsigned fallback, unsigned low, unsigned high)
{
    const char *text = getenv(name);
    if (text == NULL || *text == '\0') {
        return fallback;
    }
    char *end = NULL;
    unsigned long value = strtoul(text, &end, 10);
    return *end == '\0' && value >= low && value <= high ? (unsigned)value : fallback;
}

static void read_settings(void)
{
    if (atomic_load_explicit(&g_settings_read, memory_order_acquire)) {
        return;
    }
    g_event_every = env_unsigned("DROVER_GPU_PROBE_EVENT_EVERY", 8, 1, 1024);
    g_load_events = env_unsigned("DROVER_GPU_PROBE_LOAD_EVENTS", 32, 1, 1024);
    g_poll_us = env_unsigned("DROVER_GPU_PROBE_POLL_US", 1000, 50, 1000000);
    atomic_store_explicit(&g_settings_read, 1, memory_order_release);
}

/* ---- devices ----------------------------------------------------------------------------------------- */

struct device {
    uint8_t uuid[16];
    char text[48];
    _Atomic uint64_t submitted;
    _Atomic uint64_t completed;
    _Atomic uint64_t abandoned;
    _Atomic uint64_t resets;
    _Atomic uint64_t capture_skipped;
};

static struct device g_devices[DROVER_PROBE_MAX_DEVICES];
static _Atomic unsigned g_device_count;
static pthread_mutex_t g_table_lock = PTHREAD_MUTEX_INITIALIZER;

static int device_slot(const CUuuid *uuid)
{
    unsigned count = atomic_load_explicit(&g_device_count, memory_order_acquire);
    for (unsigned i = 0; i < count; i++) {
        if (memcmp(g_devices[i].uuid, uuid->bytes, 16) == 0) {
            return (int)i;
        }
    }
    pthread_mutex_lock(&g_table_lock);
    count = atomic_load(&g_device_count);
    int slot = -1;
    for (unsigned i = 0; i < count && slot < 0; i++) {
        if (memcmp(g_devices[i].uuid, uuid->bytes, 16) == 0) {
            slot = (int)i;
        }
    }
    if (slot < 0 && count < DROVER_PROBE_MAX_DEVICES) {
        struct device *device = &g_devices[count];
        memcpy(device->uuid, uuid->bytes, 16);
        const uint8_t *b = device->uuid;
        snprintf(device->text, sizeof(device->text),
                 "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
                 b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        slot = (int)count;
        atomic_store_explicit(&g_device_count, count + 1, memory_order_release);
    }
    pthread_mutex_unlock(&g_table_lock);
    return slot;
}

/* The device slot of the current context; cached per thread, since a context's device never changes. */
static __thread CUcontext t_context;
static __thread int t_slot = -1;

static int context_slot(CUcontext context)
{
    if (context == t_context && t_slot >= 0) {
        return t_slot;
    }
    CUdevice device;
    CUuuid uuid;
    if (g_cu.ctx_get_device(&device) != CUDA_SUCCESS || g_cu.device_get_uuid(&uuid, device) != CUDA_SUCCESS) {
        return -1;
    }
    int slot = device_slot(&uuid);
    if (slot >= 0) {
        t_context = context;
        t_slot = slot;
    }
    return slot;
}

/* ---- streams ----------------------------------------------------------------------------------------- */

#define RING 256
#define SPARE_EVENTS 64
#define MAX_STREAMS 4096
#define KIND_EXPLICIT 0
#define KIND_LEGACY 1
#define KIND_PER_THREAD 2

struct pending {
    CUevent event;
    uint64_t seq;      /* the stream's submissions this event covers: all up to seq */
    uint64_t first_ns; /* when the first of those not covered by the event before was submitted */
};

struct stream {
    pthread_mutex_t lock;
    _Atomic uint64_t generation; /* grows when the slot is emptied, so a thread's cached pointer is seen stale */
    int used;
    CUcontext context;
    uintptr_t key;
    int kind;
    CUstream handle; /* what events are recorded on: the stream, CU_STREAM_LEGACY or CU_STREAM_PER_THREAD */
    int slot;        /* its device */
    uint64_t seq, retired, marked;
    uint64_t tail_first_ns; /* the first submission after `marked`, while there is one */
    uint64_t last_ns;
    struct pending ring[RING];
    unsigned head, count;
    CUevent spare[SPARE_EVENTS];
    unsigned spares;
};

static struct stream g_streams[MAX_STREAMS];
static _Atomic unsigned g_stream_high; /* slots [0, high) have been used */

/* The launch path's clock: the kernel's tick (a few ms), read from the vDSO without the precise clock's cost; it dates
   submissions for the oldest one's age and the tail's mark, where milliseconds are the unit that matters. */
static uint64_t coarse_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

/* A per-thread pseudo-handle: per-thread default streams are keyed by the thread, not by a handle. */
static __thread char t_thread_token;

static uintptr_t hash_key(CUcontext context, uintptr_t key)
{
    uint64_t x = (uint64_t)(uintptr_t)context * 0x9E3779B97F4A7C15ULL ^ (uint64_t)key * 0xC2B2AE3D27D4EB4FULL;
    return (uintptr_t)(x ^ (x >> 29));
}

#define CACHE 16
static __thread struct {
    CUcontext context;
    uintptr_t key;
    struct stream *stream;
    uint64_t generation;
} t_cache[CACHE];

static void probe_init_streams(void)
{
    static _Atomic int done;
    if (atomic_load_explicit(&done, memory_order_acquire)) {
        return;
    }
    pthread_mutex_lock(&g_table_lock);
    if (!atomic_load(&done)) {
        for (unsigned i = 0; i < MAX_STREAMS; i++) {
            pthread_mutex_init(&g_streams[i].lock, NULL);
        }
        atomic_store_explicit(&done, 1, memory_order_release);
    }
    pthread_mutex_unlock(&g_table_lock);
}

/* The stream's record, locked; NULL when the table is full. */
static struct stream *stream_locked(CUcontext context, uintptr_t key, int kind, CUstream handle, int slot)
{
    uintptr_t hash = hash_key(context, key);
    unsigned c = (unsigned)(hash % CACHE);
    struct stream *cached = t_cache[c].stream;
    if (cached != NULL && t_cache[c].context == context && t_cache[c].key == key) {
        pthread_mutex_lock(&cached->lock);
        if (atomic_load(&cached->generation) == t_cache[c].generation && cached->used) {
            return cached;
        }
        pthread_mutex_unlock(&cached->lock);
    }
    pthread_mutex_lock(&g_table_lock);
    struct stream *found = NULL;
    struct stream *empty = NULL;
    unsigned high = atomic_load(&g_stream_high);
    for (unsigned i = 0; i < high; i++) {
        struct stream *s = &g_streams[i];
        if (s->used && s->context == context && s->key == key) {
            found = s;
            break;
        }
        if (!s->used && empty == NULL) {
            empty = s;
        }
    }
    if (found == NULL) {
        if (empty == NULL && high < MAX_STREAMS) {
            empty = &g_streams[high];
            atomic_store(&g_stream_high, high + 1);
        }
        if (empty != NULL) {
            pthread_mutex_lock(&empty->lock);
            empty->used = 1;
            empty->context = context;
            empty->key = key;
            empty->kind = kind;
            empty->handle = handle;
            empty->slot = slot;
            empty->seq = empty->retired = empty->marked = 0;
            empty->tail_first_ns = 0;
            empty->head = empty->count = 0;
            empty->spares = 0;
            pthread_mutex_unlock(&empty->lock);
            found = empty;
        }
    }
    pthread_mutex_unlock(&g_table_lock);
    if (found == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&found->lock);
    t_cache[c].context = context;
    t_cache[c].key = key;
    t_cache[c].stream = found;
    t_cache[c].generation = atomic_load(&found->generation);
    return found;
}

static CUevent take_event(struct stream *s)
{
    if (s->spares > 0) {
        return s->spare[--s->spares];
    }
    CUevent event = NULL;
    return g_cu.event_create(&event, CU_EVENT_DISABLE_TIMING) == CUDA_SUCCESS ? event : NULL;
}

static void give_event(struct stream *s, CUevent event)
{
    if (s->spares < SPARE_EVENTS) {
        s->spare[s->spares++] = event;
    } else if (g_cu.event_destroy != NULL) {
        g_cu.event_destroy(event);
    }
}

/* Records an event after the stream's submissions so far; the stream is locked. */
static int mark(struct stream *s, uint64_t now)
{
    uint64_t first = s->tail_first_ns != 0 ? s->tail_first_ns : now;
    if (s->count == RING) {
        /* Full: move the newest event to after this submission; it still covers everything before it. */
        struct pending *newest = &s->ring[(s->head + s->count - 1) % RING];
        if (g_cu.event_record(newest->event, s->handle) != CUDA_SUCCESS) {
            return 0;
        }
        newest->seq = s->seq;
    } else {
        CUevent event = take_event(s);
        if (event == NULL) {
            return 0;
        }
        if (g_cu.event_record(event, s->handle) != CUDA_SUCCESS) {
            give_event(s, event);
            return 0;
        }
        s->ring[(s->head + s->count) % RING] = (struct pending){ event, s->seq, first };
        s->count++;
    }
    s->marked = s->seq;
    s->tail_first_ns = 0;
    return 1;
}

/* Everything the stream has in flight never completes (its context is gone or failed); the stream is locked. */
static void abandon_locked(struct stream *s)
{
    uint64_t lost = s->seq - s->retired;
    if (lost > 0) {
        atomic_fetch_add(&g_devices[s->slot].abandoned, lost);
        atomic_fetch_add(&g_devices[s->slot].resets, 1);
    }
    /* The events belong to the context, which frees them: forget them, never call into it again. */
    s->count = s->head = 0;
    s->spares = 0;
    s->retired = s->marked = s->seq;
    s->tail_first_ns = 0;
    s->used = 0;
    atomic_fetch_add(&s->generation, 1);
}

static void abandon_context(CUcontext context, int slot_or_all)
{
    unsigned high = atomic_load(&g_stream_high);
    for (unsigned i = 0; i < high; i++) {
        struct stream *s = &g_streams[i];
        pthread_mutex_lock(&s->lock);
        if (s->used && (context != NULL ? s->context == context : s->slot == slot_or_all)) {
            abandon_locked(s);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

static int is_sticky(CUresult result)
{
    switch (result) {
    case CUDA_ERROR_DEINITIALIZED:
    case CUDA_ERROR_INVALID_CONTEXT:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_CONTEXT_IS_DESTROYED:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_UNKNOWN:
        return 1;
    default:
        return 0;
    }
}

static void start_poller(void);

/* After a launch that succeeded: counts it, unless its stream is being captured. */
static void submitted(CUstream handle, int per_thread)
{
    if (!can_count()) {
        return;
    }
    CUcontext context = NULL;
    if (g_cu.ctx_get_current(&context) != CUDA_SUCCESS || context == NULL) {
        return;
    }
    int kind = KIND_EXPLICIT;
    uintptr_t key = (uintptr_t)handle;
    if (handle == CU_STREAM_PER_THREAD || (handle == NULL && per_thread)) {
        kind = KIND_PER_THREAD;
        handle = CU_STREAM_PER_THREAD;
        key = (uintptr_t)&t_thread_token;
    } else if (handle == NULL || handle == CU_STREAM_LEGACY) {
        kind = KIND_LEGACY;
        handle = CU_STREAM_LEGACY;
        key = (uintptr_t)CU_STREAM_LEGACY;
    }
    int slot = context_slot(context);
    if (slot < 0) {
        return;
    }
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    if (g_cu.stream_is_capturing(handle, &capture) != CUDA_SUCCESS || capture != CU_STREAM_CAPTURE_STATUS_NONE) {
        atomic_fetch_add_explicit(&g_devices[slot].capture_skipped, 1, memory_order_relaxed);
        return;
    }
    read_settings();
    probe_init_streams();
    struct stream *s = stream_locked(context, key, kind, handle, slot);
    if (s == NULL) {
        return; /* more live streams than the table holds: not counted rather than never retired */
    }
    uint64_t now = coarse_ns();
    s->seq++;
    s->last_ns = now;
    atomic_fetch_add_explicit(&g_devices[slot].submitted, 1, memory_order_relaxed);
    int under_load = s->count >= g_load_events && kind == KIND_EXPLICIT;
    if (!under_load || s->seq - s->marked >= g_event_every) {
        if (!mark(s, now) && s->tail_first_ns == 0) {
            s->tail_first_ns = now;
        }
    } else if (s->tail_first_ns == 0) {
        s->tail_first_ns = now;
    }
    pthread_mutex_unlock(&s->lock);
    start_poller();
}

static void failed(CUresult result)
{
    if (is_sticky(result) && g_cu.ctx_get_current != NULL) {
        CUcontext context = NULL;
        if (g_cu.ctx_get_current(&context) == CUDA_SUCCESS && context != NULL) {
            abandon_context(context, -1);
        }
    }
}

/* ---- the page ---------------------------------------------------------------------------------------- */

static struct drover_probe_page *g_page;
static char g_page_path[4096];
static pid_t g_page_pid;

static uint64_t process_start_time(void)
{
    FILE *file = fopen("/proc/self/stat", "r");
    if (file == NULL) {
        return 0;
    }
    char text[1024];
    size_t length = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    text[length] = '\0';
    /* Field 22; the command (field 2) may hold spaces and parentheses: count from the last ')'. */
    char *p = strrchr(text, ')');
    if (p == NULL) {
        return 0;
    }
    p += 2; /* field 3 */
    for (int field = 3; field < 22 && p != NULL; field++) {
        p = strchr(p, ' ');
        p = p != NULL ? p + 1 : NULL;
    }
    return p != NULL ? strtoull(p, NULL, 10) : 0;
}

static void open_page(void)
{
    const char *directory = getenv("DROVER_GPU_PROBE_DIR");
    if (directory == NULL || *directory == '\0') {
        return;
    }
    pid_t pid = getpid();
    if (snprintf(g_page_path, sizeof(g_page_path), "%s/%d.page", directory, (int)pid) >= (int)sizeof(g_page_path)) {
        return;
    }
    int fd = open(g_page_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return;
    }
    if (ftruncate(fd, DROVER_PROBE_FILE_BYTES) != 0) {
        close(fd);
        unlink(g_page_path);
        return;
    }
    void *map = mmap(NULL, DROVER_PROBE_FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        unlink(g_page_path);
        return;
    }
    struct drover_probe_page *page = map;
    page->version = DROVER_PROBE_VERSION;
    page->header_bytes = 64;
    page->device_capacity = DROVER_PROBE_MAX_DEVICES;
    page->device_bytes = sizeof(struct drover_probe_device);
    page->pid = (int32_t)pid;
    page->start_time = process_start_time();
    atomic_thread_fence(memory_order_release);
    /* The magic last: a reader never takes a half-initialised page for one. */
    __atomic_store_n(&page->magic, DROVER_PROBE_MAGIC, __ATOMIC_RELEASE);
    g_page = page;
    g_page_pid = pid;
}

/* Publishes the counts under the sequence lock; only the poller writes. */
static void publish(const uint64_t *oldest_ns, uint64_t now)
{
    struct drover_probe_page *page = g_page;
    if (page == NULL) {
        return;
    }
    uint64_t sequence = __atomic_load_n(&page->sequence, __ATOMIC_RELAXED);
    __atomic_store_n(&page->sequence, sequence + 1, __ATOMIC_RELAXED);
    atomic_thread_fence(memory_order_release);
    unsigned count = atomic_load(&g_device_count);
    for (unsigned i = 0; i < count; i++) {
        struct drover_probe_device *out = &page->devices[i];
        struct device *device = &g_devices[i];
        uint64_t submitted = atomic_load(&device->submitted);
        uint64_t completed = atomic_load(&device->completed);
        uint64_t abandoned = atomic_load(&device->abandoned);
        memcpy(out->uuid, device->uuid, 16);
        memcpy(out->uuid_text, device->text, sizeof(out->uuid_text));
        out->submitted = submitted;
        out->completed = completed;
        out->abandoned = abandoned;
        out->in_flight = submitted > completed + abandoned ? submitted - completed - abandoned : 0;
        out->oldest_age_ns = out->in_flight > 0 && oldest_ns[i] != 0 && now > oldest_ns[i] ? now - oldest_ns[i] : 0;
        out->resets = atomic_load(&device->resets);
        out->capture_skipped = atomic_load(&device->capture_skipped);
    }
    page->device_count = count;
    page->passthrough = atomic_load(&g_passthrough);
    page->publishes++;
    atomic_thread_fence(memory_order_release);
    __atomic_store_n(&page->sequence, sequence + 2, __ATOMIC_RELEASE);
}

/* ---- the poller -------------------------------------------------------------------------------------- */

/* The tail of an explicit stream left without an event, this long after its last submission, gets one. */
#define TAIL_AFTER_NS 2000000ULL

/* A stream with nothing in flight and no submission for this long gives its record back (a thread that ended leaves
   its per-thread stream's record behind; a destroyed stream's handle may come back as another's). */
#define IDLE_EVICT_NS 10000000000ULL

static CUcontext g_poller_context;

static int poller_use(CUcontext context)
{
    if (context == g_poller_context) {
        return 1;
    }
    if (g_cu.ctx_set_current == NULL || g_cu.ctx_set_current(context) != CUDA_SUCCESS) {
        return 0;
    }
    g_poller_context = context;
    return 1;
}

/* Retires what completed on one stream; 1 while it still has work in flight. */
static int poll_stream(struct stream *s, uint64_t now, uint64_t *oldest_ns)
{
    CUevent events[RING];
    uint64_t seqs[RING];
    pthread_mutex_lock(&s->lock);
    if (!s->used) {
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    CUcontext context = s->context;
    uint64_t generation = atomic_load(&s->generation);
    unsigned count = s->count;
    for (unsigned i = 0; i < count; i++) {
        events[i] = s->ring[(s->head + i) % RING].event;
        seqs[i] = s->ring[(s->head + i) % RING].seq;
    }
    int tail = count == 0 && s->seq > s->marked && s->kind == KIND_EXPLICIT && now - s->last_ns >= TAIL_AFTER_NS;
    if (count == 0 && s->seq == s->retired && now - s->last_ns >= IDLE_EVICT_NS && poller_use(context)) {
        while (s->spares > 0) {
            CUevent spare = s->spare[--s->spares];
            if (g_cu.event_destroy != NULL) {
                g_cu.event_destroy(spare);
            }
        }
        s->used = 0;
        atomic_fetch_add(&s->generation, 1);
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    pthread_mutex_unlock(&s->lock);

    if (count == 0 && !tail) {
        return 0;
    }
    if (!poller_use(context)) {
        pthread_mutex_lock(&s->lock);
        if (atomic_load(&s->generation) == generation) {
            abandon_locked(s);
        }
        pthread_mutex_unlock(&s->lock);
        return 0;
    }

    /* Streams run in order, so the completed events are a prefix: the newest first (an idle stream retires at once). */
    unsigned done = 0;
    CUresult error = CUDA_SUCCESS;
    if (count > 0) {
        CUresult result = g_cu.event_query(events[count - 1]);
        if (result == CUDA_SUCCESS) {
            done = count;
        } else if (result == CUDA_ERROR_NOT_READY) {
            while (done < count - 1 && (result = g_cu.event_query(events[done])) == CUDA_SUCCESS) {
                done++;
            }
            if (result != CUDA_SUCCESS && result != CUDA_ERROR_NOT_READY) {
                error = result;
            }
        } else {
            error = result;
        }
    }

    pthread_mutex_lock(&s->lock);
    int busy = 0;
    if (atomic_load(&s->generation) == generation && s->used) {
        if (error != CUDA_SUCCESS) {
            /* A failed or destroyed context; an event recorded into a capture by the tail's mark (a capture begun
               between the check and the record) answers an error too: either way those submissions are lost. */
            abandon_locked(s);
            if (is_sticky(error)) {
                pthread_mutex_unlock(&s->lock);
                abandon_context(context, -1);
                return 0;
            }
        } else {
            if (done > 0) {
                uint64_t upto = seqs[done - 1];
                /* The ring may have moved its newest event on (full): never retire past what this poll saw. */
                if (upto > s->retired) {
                    atomic_fetch_add(&g_devices[s->slot].completed, upto - s->retired);
                    s->retired = upto;
                }
                for (unsigned i = 0; i < done; i++) {
                    give_event(s, s->ring[s->head].event);
                    s->head = (s->head + 1) % RING;
                    s->count--;
                }
            }
            if (tail && s->count == 0 && s->seq > s->marked) {
                CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
                if (g_cu.stream_is_capturing(s->handle, &capture) == CUDA_SUCCESS && capture == CU_STREAM_CAPTURE_STATUS_NONE) {
                    mark(s, now);
                }
            }
            if (s->count > 0) {
                uint64_t first = s->ring[s->head].first_ns;
                if (oldest_ns[s->slot] == 0 || first < oldest_ns[s->slot]) {
                    oldest_ns[s->slot] = first;
                }
                busy = 1;
            } else if (s->seq > s->retired && s->tail_first_ns != 0) {
                if (oldest_ns[s->slot] == 0 || s->tail_first_ns < oldest_ns[s->slot]) {
                    oldest_ns[s->slot] = s->tail_first_ns;
                }
                busy = 1;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return busy;
}

static void *poller(void *argument)
{
    (void)argument;
    /* The poller's own calls never take part in another thread's capture, nor are refused because of one. */
    if (g_cu.exchange_capture_mode != NULL) {
        CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
        g_cu.exchange_capture_mode(&mode);
    }
    open_page();
    uint64_t oldest_ns[DROVER_PROBE_MAX_DEVICES];
    for (;;) {
        uint64_t now = coarse_ns();
        memset(oldest_ns, 0, sizeof(oldest_ns));
        int busy = 0;
        unsigned high = atomic_load(&g_stream_high);
        for (unsigned i = 0; i < high; i++) {
            busy |= poll_stream(&g_streams[i], now, oldest_ns);
        }
        publish(oldest_ns, now);
        struct timespec pause = { 0, 0 };
        uint64_t wait_ns = busy ? (uint64_t)g_poll_us * 1000ULL : 100000000ULL;
        pause.tv_sec = (time_t)(wait_ns / 1000000000ULL);
        pause.tv_nsec = (long)(wait_ns % 1000000000ULL);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static _Atomic int g_poller_started;

static void start_poller(void)
{
    if (atomic_load_explicit(&g_poller_started, memory_order_acquire)) {
        return;
    }
    int expected = 0;
    if (!atomic_compare_exchange_strong(&g_poller_started, &expected, 1)) {
        return;
    }
    /* No signal is ever delivered to the poller: the process's handlers expect its own threads. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    if (pthread_create(&thread, &attributes, poller, NULL) != 0) {
        atomic_store(&g_poller_started, 0);
    }
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

/* A child of fork has neither the poller nor a context of its own: it starts from nothing, and never writes its
   parent's page. */
static void after_fork_child(void)
{
    if (g_page != NULL) {
        munmap(g_page, DROVER_PROBE_FILE_BYTES);
        g_page = NULL;
    }
    for (unsigned i = 0; i < MAX_STREAMS; i++) {
        pthread_mutex_init(&g_streams[i].lock, NULL);
        g_streams[i].used = 0;
    }
    atomic_store(&g_stream_high, 0);
    atomic_store(&g_poller_started, 0);
    g_poller_context = NULL;
    pthread_mutex_init(&g_table_lock, NULL);
    pthread_mutex_init(&g_bind_lock, NULL);
}

__attribute__((constructor)) static void probe_loaded(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

/* A process that exits on its own has nothing in flight worth reporting: its page goes with it. */
__attribute__((destructor)) static void probe_unloaded(void)
{
    if (g_page != NULL && g_page_pid == getpid()) {
        unlink(g_page_path);
    }
}

/* ---- the wrappers ------------------------------------------------------------------------------------ */

#define REAL(index, type) ((type)g_real[index])

static CUresult launch_done(CUresult result, CUstream stream, int per_thread)
{
    if (result == CUDA_SUCCESS) {
        submitted(stream, per_thread);
    } else {
        failed(result);
    }
    return result;
}

API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
                            unsigned int bz, unsigned int shared, CUstream stream, void **params, void **extra)
{
    if (!bind_cuda(NULL) || g_real[W_LAUNCH] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return launch_done(REAL(W_LAUNCH, cuLaunchKernel_t)(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra), stream, 0);
}

API CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                 unsigned int by, unsigned int bz, unsigned int shared, CUstream stream, void **params,
                                 void **extra)
{
    if (!bind_cuda(NULL) || g_real[W_LAUNCH_PTSZ] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return launch_done(REAL(W_LAUNCH_PTSZ, cuLaunchKernel_t)(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra), stream, 1);
}

API CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **params, void **extra)
{
    if (!bind_cuda(NULL) || g_real[W_LAUNCH_EX] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    CUresult result = REAL(W_LAUNCH_EX, cuLaunchKernelEx_t)(config, f, params, extra);
    return launch_done(result, config != NULL ? config->hStream : NULL, 0);
}

API CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f, void **params, void **extra)
{
    if (!bind_cuda(NULL) || g_real[W_LAUNCH_EX_PTSZ] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    CUresult result = REAL(W_LAUNCH_EX_PTSZ, cuLaunchKernelEx_t)(config, f, params, extra);
    return launch_done(result, config != NULL ? config->hStream : NULL, 1);
}

API CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                       unsigned int by, unsigned int bz, unsigned int shared, CUstream stream, void **params)
{
    if (!bind_cuda(NULL) || g_real[W_COOP] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return launch_done(REAL(W_COOP, cuLaunchCooperativeKernel_t)(f, gx, gy, gz, bx, by, bz, shared, stream, params), stream, 0);
}

API CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                            unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared,
                                            CUstream stream, void **params)
{
    if (!bind_cuda(NULL) || g_real[W_COOP_PTSZ] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return launch_done(REAL(W_COOP_PTSZ, cuLaunchCooperativeKernel_t)(f, gx, gy, gz, bx, by, bz, shared, stream, params), stream, 1);
}

API CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream)
{
    if (!bind_cuda(NULL) || g_real[W_GRAPH] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return launch_done(REAL(W_GRAPH, cuGraphLaunch_t)(exec, stream), stream, 0);
}

API CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream stream)
{
    if (!bind_cuda(NULL) || g_real[W_GRAPH_PTSZ] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return launch_done(REAL(W_GRAPH_PTSZ, cuGraphLaunch_t)(exec, stream), stream, 1);
}

/* The context's streams are abandoned before it goes: their events die with it. */
static CUresult destroy_context(int index, CUcontext context)
{
    if (!bind_cuda(NULL) || g_real[index] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (context != NULL) {
        abandon_context(context, -1);
        if (context == t_context) {
            t_context = NULL;
            t_slot = -1;
        }
    }
    return REAL(index, cuCtxDestroy_t)(context);
}

API CUresult cuCtxDestroy(CUcontext context) { return destroy_context(W_CTX_DESTROY, context); }
API CUresult cuCtxDestroy_v2(CUcontext context) { return destroy_context(W_CTX_DESTROY_V2, context); }

/* A reset destroys the device's primary context; the probe cannot tell it from other contexts on the device, so all
   of that device's streams in this process are abandoned (a process rarely holds more than the primary one). */
static CUresult reset_primary(int index, CUdevice device)
{
    if (!bind_cuda(NULL) || g_real[index] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    CUuuid uuid;
    if (can_count() && g_cu.device_get_uuid(&uuid, device) == CUDA_SUCCESS) {
        int slot = device_slot(&uuid);
        if (slot >= 0) {
            abandon_context(NULL, slot);
        }
    }
    t_context = NULL;
    t_slot = -1;
    return REAL(index, cuDevicePrimaryCtxReset_t)(device);
}

API CUresult cuDevicePrimaryCtxReset(CUdevice device) { return reset_primary(W_PRIMARY_RESET, device); }
API CUresult cuDevicePrimaryCtxReset_v2(CUdevice device) { return reset_primary(W_PRIMARY_RESET_V2, device); }

/*
 * What the driver handed out for `symbol`, or the probe's wrapper of it. Matched by address first: the wrapper of
 * the very entry point the driver chose for the caller's version and flags. An address the probe has not seen (a
 * driver whose table differs from its exports) is matched by name and flags, adopted as that entry's real
 * function when the probe has none, else handed out unwrapped and counted as passed through.
 */
static void *substitute(const char *symbol, void *function, cuuint64_t flags)
{
    for (int i = 0; i < W_COUNT; i++) {
        if (g_real[i] != NULL && g_real[i] == function) {
            return g_wrappers[i];
        }
        if (g_wrappers[i] == function) {
            return function; /* a library that resolves its own exports through the global scope handed out ours */
        }
    }
    int per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
    for (int i = 0; i < W_COUNT; i++) {
        if (strcmp(symbol, g_base[i]) != 0 || (g_per_thread[i] != per_thread && i != W_GETPROC && i != W_GETPROC_V2)) {
            continue;
        }
        if (i == W_GETPROC || i == W_GETPROC_V2) {
            break; /* an unknown cuGetProcAddress ABI: not ours to guess at */
        }
        if (g_real[i] == NULL) {
            g_real[i] = function;
            return g_wrappers[i];
        }
        break;
    }
    int known = 0;
    for (int i = 0; i < W_COUNT; i++) {
        known |= strcmp(symbol, g_base[i]) == 0;
    }
    if (known) {
        atomic_fetch_add(&g_passthrough, 1);
    }
    return function;
}

API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags)
{
    if (!bind_cuda(NULL) || g_real[W_GETPROC] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    CUresult result = REAL(W_GETPROC, cuGetProcAddress_t)(symbol, pfn, cudaVersion, flags);
    if (result == CUDA_SUCCESS && symbol != NULL && pfn != NULL && *pfn != NULL) {
        *pfn = substitute(symbol, *pfn, flags);
    }
    return result;
}

API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
                                 CUdriverProcAddressQueryResult *status)
{
    if (!bind_cuda(NULL) || g_real[W_GETPROC_V2] == NULL) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    CUresult result = REAL(W_GETPROC_V2, cuGetProcAddress_v2_t)(symbol, pfn, cudaVersion, flags, status);
    if (result == CUDA_SUCCESS && symbol != NULL && pfn != NULL && *pfn != NULL) {
        *pfn = substitute(symbol, *pfn, flags);
    }
    return result;
}

static void *const g_wrapper_table[W_COUNT] = {
    (void *)cuLaunchKernel, (void *)cuLaunchKernel_ptsz, (void *)cuLaunchKernelEx, (void *)cuLaunchKernelEx_ptsz,
    (void *)cuLaunchCooperativeKernel, (void *)cuLaunchCooperativeKernel_ptsz, (void *)cuGraphLaunch,
    (void *)cuGraphLaunch_ptsz, (void *)cuGetProcAddress, (void *)cuGetProcAddress_v2, (void *)cuCtxDestroy,
    (void *)cuCtxDestroy_v2, (void *)cuDevicePrimaryCtxReset, (void *)cuDevicePrimaryCtxReset_v2,
};

/* ---- dlsym ------------------------------------------------------------------------------------------- */

/*
 * The wrapper for `name`, or NULL to let glibc answer. Called by the dlsym entry below with the caller's handle.
 * A wrapper is returned only where the library asked has the real entry point, so a lookup that should fail still
 * fails, with dlerror set by glibc.
 */
void *probe_dlsym_lookup(void *handle, const char *name)
{
    find_real_dlsym();
    if (name == NULL || name[0] != 'c' || name[1] != 'u') {
        return NULL;
    }
    for (int i = 0; i < W_COUNT; i++) {
        if (strcmp(name, g_names[i]) == 0) {
            if (!bind_cuda(handle)) {
                return NULL;
            }
            if (g_wrappers[i] == NULL) {
                memcpy(g_wrappers, g_wrapper_table, sizeof(g_wrappers));
            }
            return g_real[i] != NULL ? g_wrappers[i] : NULL;
        }
    }
    return NULL;
}

__attribute__((constructor)) static void fill_wrappers(void)
{
    memcpy(g_wrappers, g_wrapper_table, sizeof(g_wrappers));
}

#if defined(__x86_64__)
/*
 * dlsym itself, in assembly so that the forward to glibc's is a tail jump: glibc resolves RTLD_NEXT (and picks the
 * symbol version) by its caller's return address, which must stay the original caller's, not the probe's.
 */
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, @function\n"
        "dlsym:\n"
        "  pushq %rdi\n"
        "  pushq %rsi\n"
        "  subq $8, %rsp\n"
        "  call probe_dlsym_lookup\n"
        "  addq $8, %rsp\n"
        "  popq %rsi\n"
        "  popq %rdi\n"
        "  testq %rax, %rax\n"
        "  jz 1f\n"
        "  ret\n"
        "1:\n"
        "  jmp *g_real_dlsym(%rip)\n"
        ".size dlsym, .-dlsym\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, %function\n"
        "dlsym:\n"
        "  stp x29, x30, [sp, #-32]!\n"
        "  stp x0, x1, [sp, #16]\n"
        "  bl probe_dlsym_lookup\n"
        "  mov x9, x0\n"
        "  ldp x0, x1, [sp, #16]\n"
        "  ldp x29, x30, [sp], #32\n"
        "  cbz x9, 1f\n"
        "  mov x0, x9\n"
        "  ret\n"
        "1:\n"
        "  adrp x9, g_real_dlsym\n"
        "  ldr x9, [x9, :lo12:g_real_dlsym]\n"
        "  br x9\n"
        ".size dlsym, .-dlsym\n");
#else
#error "the probe's dlsym entry is written for x86-64 and aarch64"
#endif
