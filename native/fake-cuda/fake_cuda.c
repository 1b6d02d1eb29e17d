/*
 * fake-cuda: a stand-in for NVIDIA's libcuda.so.1 on machines without GPUs, for the CUDA launch probe's tests,
 * its benchmark and the demo. It exports the driver API's entry points the probe and the sample workload use,
 * with the real ABI (drover_cuda.h): devices with UUIDs, contexts (primary and created), streams (explicit, the
 * legacy default stream, per-thread default streams and the _ptsz entry points), events, modules and functions,
 * stream capture into graphs, graph launches, and cuGetProcAddress/_v2 honouring the requested version and the
 * per-thread-default-stream flag.
 *
 * Kernels run on a worker thread per stream for a set duration: streams run their work in order and different
 * streams run at the same time, as on a GPU with room for them all.
 *   - A function whose name starts with "sleep" runs for the microseconds in its first parameter (a uint32_t).
 *   - Any other runs for FAKE_CUDA_KERNEL_US microseconds (default 0).
 *   - A function named "trap" fails its context when it runs, as an illegal address does: from then on the
 *     context's calls answer CUDA_ERROR_ILLEGAL_ADDRESS (a sticky error) and its queued work is dropped.
 *   - Work of duration 0 submitted to an idle stream completes at once, without the worker: the benchmark's
 *     tight loop measures the cost of a launch call, not of a thread hand-off.
 *
 * Devices, and their UUIDs (which must match the stand-in NVML's, so the agent's report lines up):
 *   - CUDA_VISIBLE_DEVICES naming UUIDs (GPU-... or MIG-..., as drover-agent gives an instance its GPUs): one
 *     device per UUID, in that order, with exactly those bytes.
 *   - Otherwise gpu.count and gpu.<i>.uuid from the stand-in NVML's scenario file (DROVER_FAKE_NVML_SCENARIO), or
 *     FAKE_CUDA_DEVICES devices (default 1) with the stand-in NVML's default UUIDs; CUDA_VISIBLE_DEVICES naming
 *     indices picks among them; an empty CUDA_VISIBLE_DEVICES leaves none (as the real driver does).
 *
 * Choices where the stand-in simplifies: the legacy default stream does not synchronize with other blocking
 * streams; cuCtxDestroy drops the context's queued work (its events answer CUDA_ERROR_CONTEXT_IS_DESTROYED);
 * objects are never freed (a test library, short-lived processes); graphs are serial (a graph launch runs for the
 * sum of its kernels' durations).
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover_cuda.h"

#define API __attribute__((visibility("default")))
#define MAX_DEVICES 64
#define FAKE_DRIVER_VERSION 12040

/* ---- devices ----------------------------------------------------------------------------------------- */

struct device {
    CUuuid uuid;
    char text[96];
    struct context *primary;
};

static struct device g_devices[MAX_DEVICES];
static int g_device_count;
static int g_initialized;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (or MIG-) into its 16 bytes; 0 when it is not one. */
static int parse_uuid(const char *text, CUuuid *uuid)
{
    if (strncmp(text, "GPU-", 4) != 0 && strncmp(text, "MIG-", 4) != 0) {
        return 0;
    }
    const char *p = text + 4;
    int n = 0;
    while (*p != '\0' && n < 32) {
        if (*p == '-') {
            p++;
            continue;
        }
        int high = hex_value((unsigned char)p[0]);
        int low = p[1] != '\0' ? hex_value((unsigned char)p[1]) : -1;
        if (high < 0 || low < 0) {
            return 0;
        }
        uuid->bytes[n / 2] = (char)(high << 4 | low);
        n += 2;
        p += 2;
    }
    return n == 32;
}

static void add_device(const char *text)
{
    if (g_device_count >= MAX_DEVICES) {
        return;
    }
    struct device *device = &g_devices[g_device_count];
    if (!parse_uuid(text, &device->uuid)) {
        return;
    }
    snprintf(device->text, sizeof(device->text), "%s", text);
    g_device_count++;
}

/* The stand-in NVML's GPUs: gpu.count and gpu.<i>.uuid of its scenario file, or its defaults. */
static int scenario_uuids(char uuids[][96], int capacity)
{
    int count = -1;
    const char *env = getenv("FAKE_CUDA_DEVICES");
    if (env != NULL && *env != '\0') {
        count = atoi(env);
    }
    for (int i = 0; i < capacity; i++) {
        snprintf(uuids[i], 96, "GPU-fa4e0000-0000-4000-8000-%012x", (unsigned)i);
    }
    const char *path = getenv("DROVER_FAKE_NVML_SCENARIO");
    FILE *file = path != NULL && *path != '\0' ? fopen(path, "r") : NULL;
    if (file != NULL) {
        char line[512];
        count = count < 0 ? 0 : count;
        while (fgets(line, sizeof(line), file) != NULL) {
            char *hash = strchr(line, '#');
            if (hash != NULL) {
                *hash = '\0';
            }
            unsigned index;
            char value[96];
            if (sscanf(line, " gpu.count = %u", &index) == 1) {
                count = (int)index;
            } else if (sscanf(line, " gpu.%u.uuid = %95s", &index, value) == 2 && index < (unsigned)capacity) {
                memcpy(uuids[index], value, sizeof(value));
            }
        }
        fclose(file);
    }
    if (count < 0) {
        count = 1;
    }
    return count > capacity ? capacity : count;
}

static void discover_devices(void)
{
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    if (visible != NULL && (strncmp(visible, "GPU-", 4) == 0 || strncmp(visible, "MIG-", 4) == 0)) {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", visible);
        for (char *save = NULL, *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
            add_device(item);
        }
        return;
    }
    static char uuids[MAX_DEVICES][96];
    int count = scenario_uuids(uuids, MAX_DEVICES);
    if (visible == NULL) {
        for (int i = 0; i < count; i++) {
            add_device(uuids[i]);
        }
        return;
    }
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", visible);
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long index = strtol(item, &end, 10);
        if (end == item || index < 0 || index >= count) {
            break; /* as CUDA does: an invalid entry ends the list */
        }
        add_device(uuids[index]);
    }
}

API CUresult cuInit(unsigned int flags)
{
    if (flags != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    pthread_mutex_lock(&g_lock);
    if (!g_initialized) {
        discover_devices();
        g_initialized = 1;
    }
    pthread_mutex_unlock(&g_lock);
    return CUDA_SUCCESS;
}

API CUresult cuDriverGetVersion(int *version)
{
    if (version == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *version = FAKE_DRIVER_VERSION;
    return CUDA_SUCCESS;
}

API CUresult cuDeviceGetCount(int *count)
{
    if (!g_initialized) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (count == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *count = g_device_count;
    return CUDA_SUCCESS;
}

API CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    if (!g_initialized) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (device == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (ordinal < 0 || ordinal >= g_device_count) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    *device = ordinal;
    return CUDA_SUCCESS;
}

API CUresult cuDeviceGetName(char *name, int length, CUdevice device)
{
    if (name == NULL || length <= 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (device < 0 || device >= g_device_count) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    snprintf(name, (size_t)length, "NVIDIA H100 80GB HBM3");
    return CUDA_SUCCESS;
}

/* _v2 returns a MIG device's own UUID; the original returns its GPU's. The stand-in has no MIG parents to tell. */
API CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice device)
{
    if (uuid == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (device < 0 || device >= g_device_count) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    *uuid = g_devices[device].uuid;
    return CUDA_SUCCESS;
}

API CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice device)
{
    return cuDeviceGetUuid_v2(uuid, device);
}

/* ---- contexts, streams, events ----------------------------------------------------------------------- */

struct work {
    uint64_t duration_ns;
    int trap;
};

struct stream {
    struct context *context;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct work *queue; /* ring */
    size_t capacity, head, count;
    uint64_t enqueued;          /* under lock */
    _Atomic uint64_t completed; /* read by event queries without the lock */
    int worker_started;
    /* capture */
    int capturing;
    struct graph *capture;
};

struct context {
    CUdevice device;
    _Atomic int sticky;    /* a sticky error code, 0 while healthy */
    _Atomic int destroyed;
    struct stream legacy;
    pthread_key_t unused;
};

struct function {
    char name[128];
};

struct event {
    struct stream *stream;
    uint64_t target;
    int recorded;
    int captured;
    struct context *context;
};

struct graph {
    uint64_t duration_ns;
    unsigned nodes;
    int trap;
};

struct graph_exec {
    uint64_t duration_ns;
    int trap;
};

static __thread struct context *t_current;

/* The calling thread's per-thread default stream of a context: a few contexts per thread. */
#define THREAD_STREAMS 8
static __thread struct {
    struct context *context;
    struct stream *stream;
} t_streams[THREAD_STREAMS];

static uint64_t default_kernel_ns(void)
{
    static _Atomic long long cached = -1;
    long long value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        const char *env = getenv("FAKE_CUDA_KERNEL_US");
        value = env != NULL ? atoll(env) * 1000LL : 0;
        value = value < 0 ? 0 : value;
        atomic_store(&cached, value);
    }
    return (uint64_t)value;
}

static void stream_init(struct stream *stream, struct context *context)
{
    memset(stream, 0, sizeof(*stream));
    stream->context = context;
    pthread_mutex_init(&stream->lock, NULL);
    pthread_cond_init(&stream->changed, NULL);
}

static void *worker(void *argument)
{
    struct stream *stream = argument;
    pthread_mutex_lock(&stream->lock);
    for (;;) {
        while (stream->count == 0 && !atomic_load(&stream->context->destroyed)) {
            pthread_cond_wait(&stream->changed, &stream->lock);
        }
        if (atomic_load(&stream->context->destroyed)) {
            break;
        }
        struct work item = stream->queue[stream->head];
        pthread_mutex_unlock(&stream->lock);
        if (item.duration_ns > 0) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            uint64_t end = (uint64_t)until.tv_sec * 1000000000ULL + (uint64_t)until.tv_nsec + item.duration_ns;
            until.tv_sec = (time_t)(end / 1000000000ULL);
            until.tv_nsec = (long)(end % 1000000000ULL);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
            }
        }
        pthread_mutex_lock(&stream->lock);
        if (item.trap) {
            int expected = 0;
            atomic_compare_exchange_strong(&stream->context->sticky, &expected, CUDA_ERROR_ILLEGAL_ADDRESS);
        }
        if (atomic_load(&stream->context->sticky) != 0) {
            stream->count = 0; /* a failed context runs nothing more */
            pthread_cond_broadcast(&stream->changed);
            continue;
        }
        stream->head = (stream->head + 1) % stream->capacity;
        stream->count--;
        atomic_fetch_add(&stream->completed, 1);
        pthread_cond_broadcast(&stream->changed);
    }
    pthread_mutex_unlock(&stream->lock);
    return NULL;
}

/* Queues one unit of work (a kernel, or a whole graph). */
static CUresult submit(struct stream *stream, uint64_t duration_ns, int trap)
{
    pthread_mutex_lock(&stream->lock);
    if (stream->count == 0 && duration_ns == 0 && !trap) {
        /* An idle stream and work that takes no time: done at once, in order. */
        stream->enqueued++;
        atomic_fetch_add(&stream->completed, 1);
        pthread_mutex_unlock(&stream->lock);
        return CUDA_SUCCESS;
    }
    if (stream->count == stream->capacity) {
        size_t capacity = stream->capacity == 0 ? 64 : stream->capacity * 2;
        struct work *queue = malloc(capacity * sizeof(*queue));
        if (queue == NULL) {
            pthread_mutex_unlock(&stream->lock);
            return CUDA_ERROR_UNKNOWN;
        }
        for (size_t i = 0; i < stream->count; i++) {
            queue[i] = stream->queue[(stream->head + i) % stream->capacity];
        }
        free(stream->queue);
        stream->queue = queue;
        stream->capacity = capacity;
        stream->head = 0;
    }
    stream->queue[(stream->head + stream->count) % stream->capacity] = (struct work){ duration_ns, trap };
    stream->count++;
    stream->enqueued++;
    if (!stream->worker_started) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attributes, 64 * 1024);
        if (pthread_create(&thread, &attributes, worker, stream) == 0) {
            stream->worker_started = 1;
        }
        pthread_attr_destroy(&attributes);
    }
    pthread_cond_broadcast(&stream->changed);
    pthread_mutex_unlock(&stream->lock);
    return CUDA_SUCCESS;
}

static struct context *new_context(CUdevice device)
{
    struct context *context = calloc(1, sizeof(*context));
    if (context == NULL) {
        return NULL;
    }
    context->device = device;
    stream_init(&context->legacy, context);
    return context;
}

static CUresult context_check(struct context *context)
{
    if (context == NULL) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (atomic_load(&context->destroyed)) {
        return CUDA_ERROR_CONTEXT_IS_DESTROYED;
    }
    int sticky = atomic_load(&context->sticky);
    return sticky != 0 ? sticky : CUDA_SUCCESS;
}

API CUresult cuDevicePrimaryCtxRetain(CUcontext *out, CUdevice device)
{
    if (out == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (device < 0 || device >= g_device_count) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    pthread_mutex_lock(&g_lock);
    if (g_devices[device].primary == NULL || atomic_load(&g_devices[device].primary->destroyed)) {
        g_devices[device].primary = new_context(device);
    }
    *out = (CUcontext)g_devices[device].primary;
    pthread_mutex_unlock(&g_lock);
    return *out != NULL ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
}

API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device)
{
    return device < 0 || device >= g_device_count ? CUDA_ERROR_INVALID_DEVICE : CUDA_SUCCESS;
}

API CUresult cuDevicePrimaryCtxReset_v2(CUdevice device)
{
    if (device < 0 || device >= g_device_count) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    pthread_mutex_lock(&g_lock);
    struct context *primary = g_devices[device].primary;
    g_devices[device].primary = NULL;
    pthread_mutex_unlock(&g_lock);
    if (primary != NULL) {
        atomic_store(&primary->destroyed, 1);
        pthread_mutex_lock(&primary->legacy.lock);
        pthread_cond_broadcast(&primary->legacy.changed);
        pthread_mutex_unlock(&primary->legacy.lock);
    }
    return CUDA_SUCCESS;
}

API CUresult cuCtxCreate_v2(CUcontext *out, unsigned int flags, CUdevice device)
{
    (void)flags;
    if (out == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (device < 0 || device >= g_device_count) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    struct context *context = new_context(device);
    if (context == NULL) {
        return CUDA_ERROR_UNKNOWN;
    }
    t_current = context;
    *out = (CUcontext)context;
    return CUDA_SUCCESS;
}

/* Every stream of the context stops; what was queued never completes. */
API CUresult cuCtxDestroy_v2(CUcontext handle)
{
    struct context *context = (struct context *)handle;
    if (context == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    atomic_store(&context->destroyed, 1);
    pthread_mutex_lock(&context->legacy.lock);
    pthread_cond_broadcast(&context->legacy.changed);
    pthread_mutex_unlock(&context->legacy.lock);
    if (t_current == context) {
        t_current = NULL;
    }
    return CUDA_SUCCESS;
}

API CUresult cuCtxSetCurrent(CUcontext context)
{
    t_current = (struct context *)context;
    return CUDA_SUCCESS;
}

API CUresult cuCtxGetCurrent(CUcontext *context)
{
    if (context == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *context = (CUcontext)t_current;
    return CUDA_SUCCESS;
}

API CUresult cuCtxGetDevice(CUdevice *device)
{
    CUresult result = context_check(t_current);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    if (device == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *device = t_current->device;
    return CUDA_SUCCESS;
}

/* Streams the stand-in created carry this mark first, so a bad handle is told apart from a stream. */
struct created_stream {
    struct stream stream;
    uint64_t mark;
};
#define STREAM_MARK 0x53545245414d2121ULL

static struct stream *per_thread_stream(struct context *context)
{
    int free_slot = -1;
    for (int i = 0; i < THREAD_STREAMS; i++) {
        if (t_streams[i].context == context) {
            return t_streams[i].stream;
        }
        if (t_streams[i].context == NULL && free_slot < 0) {
            free_slot = i;
        }
    }
    struct stream *stream = calloc(1, sizeof(*stream));
    if (stream == NULL) {
        return NULL;
    }
    stream_init(stream, context);
    if (free_slot < 0) {
        free_slot = 0; /* more contexts than slots on one thread: the oldest slot's stream is forgotten */
    }
    t_streams[free_slot].context = context;
    t_streams[free_slot].stream = stream;
    return stream;
}

/* A stream handle to its stream; per_thread: the _ptsz entry points, where NULL is the per-thread stream. */
static CUresult resolve(CUstream handle, int per_thread, struct stream **out)
{
    if (handle == NULL || handle == CU_STREAM_LEGACY || handle == CU_STREAM_PER_THREAD) {
        CUresult result = context_check(t_current);
        if (result != CUDA_SUCCESS) {
            return result;
        }
        *out = handle == CU_STREAM_PER_THREAD || (handle == NULL && per_thread) ? per_thread_stream(t_current)
                                                                                : &t_current->legacy;
        return *out != NULL ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
    }
    struct created_stream *created = (struct created_stream *)handle;
    if (created->mark != STREAM_MARK) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    CUresult result = context_check(created->stream.context);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    *out = &created->stream;
    return CUDA_SUCCESS;
}

API CUresult cuStreamCreate(CUstream *out, unsigned int flags)
{
    (void)flags;
    CUresult result = context_check(t_current);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    if (out == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    struct created_stream *created = calloc(1, sizeof(*created));
    if (created == NULL) {
        return CUDA_ERROR_UNKNOWN;
    }
    stream_init(&created->stream, t_current);
    created->mark = STREAM_MARK;
    *out = (CUstream)created;
    return CUDA_SUCCESS;
}

/* Destroying a stream with work queued lets that work finish, as CUDA does; the handle is not reused. */
API CUresult cuStreamDestroy_v2(CUstream handle)
{
    struct stream *stream;
    return resolve(handle, 0, &stream);
}

static CUresult stream_synchronize(CUstream handle, int per_thread)
{
    struct stream *stream;
    CUresult result = resolve(handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    pthread_mutex_lock(&stream->lock);
    while (stream->count > 0 && !atomic_load(&stream->context->destroyed)) {
        pthread_cond_wait(&stream->changed, &stream->lock);
    }
    pthread_mutex_unlock(&stream->lock);
    return context_check(stream->context);
}

API CUresult cuStreamSynchronize(CUstream handle) { return stream_synchronize(handle, 0); }
API CUresult cuStreamSynchronize_ptsz(CUstream handle) { return stream_synchronize(handle, 1); }

static CUresult stream_query(CUstream handle, int per_thread)
{
    struct stream *stream;
    CUresult result = resolve(handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    return atomic_load(&stream->completed) >= stream->enqueued ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

API CUresult cuStreamQuery(CUstream handle) { return stream_query(handle, 0); }
API CUresult cuStreamQuery_ptsz(CUstream handle) { return stream_query(handle, 1); }

API CUresult cuCtxSynchronize(void)
{
    CUresult result = context_check(t_current);
    return result != CUDA_SUCCESS ? result : stream_synchronize(CU_STREAM_LEGACY, 0);
}

API CUresult cuStreamGetCtx(CUstream handle, CUcontext *context)
{
    struct stream *stream;
    CUresult result = resolve(handle, 0, &stream);
    if (result == CUDA_SUCCESS) {
        *context = (CUcontext)stream->context;
    }
    return result;
}

static CUresult is_capturing(CUstream handle, CUstreamCaptureStatus *status, int per_thread)
{
    struct stream *stream;
    CUresult result = resolve(handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    if (status == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    /* Read without the stream's lock (a flag only its own thread changes, as capture is begun and ended on it): the
       probe asks after every launch, and the benchmark measures the probe, not this lock. */
    *status = __atomic_load_n(&stream->capturing, __ATOMIC_ACQUIRE) ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
    return CUDA_SUCCESS;
}

API CUresult cuStreamIsCapturing(CUstream handle, CUstreamCaptureStatus *status) { return is_capturing(handle, status, 0); }
API CUresult cuStreamIsCapturing_ptsz(CUstream handle, CUstreamCaptureStatus *status) { return is_capturing(handle, status, 1); }

static CUresult begin_capture(CUstream handle, int per_thread)
{
    if (handle == NULL && !per_thread) {
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED; /* the legacy stream cannot be captured */
    }
    struct stream *stream;
    CUresult result = resolve(handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    struct graph *graph = calloc(1, sizeof(*graph));
    if (graph == NULL) {
        return CUDA_ERROR_UNKNOWN;
    }
    pthread_mutex_lock(&stream->lock);
    if (stream->capturing) {
        pthread_mutex_unlock(&stream->lock);
        free(graph);
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    stream->capture = graph;
    __atomic_store_n(&stream->capturing, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&stream->lock);
    return CUDA_SUCCESS;
}

API CUresult cuStreamBeginCapture_v2(CUstream handle, CUstreamCaptureMode mode) { (void)mode; return begin_capture(handle, 0); }
API CUresult cuStreamBeginCapture_v2_ptsz(CUstream handle, CUstreamCaptureMode mode) { (void)mode; return begin_capture(handle, 1); }
API CUresult cuStreamBeginCapture(CUstream handle) { return begin_capture(handle, 0); }
API CUresult cuStreamBeginCapture_ptsz(CUstream handle) { return begin_capture(handle, 1); }

static CUresult end_capture(CUstream handle, CUgraph *out, int per_thread)
{
    struct stream *stream;
    CUresult result = resolve(handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    if (out == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    pthread_mutex_lock(&stream->lock);
    if (!stream->capturing) {
        pthread_mutex_unlock(&stream->lock);
        return CUDA_ERROR_STREAM_CAPTURE_UNMATCHED;
    }
    *out = (CUgraph)stream->capture;
    __atomic_store_n(&stream->capturing, 0, __ATOMIC_RELEASE);
    stream->capture = NULL;
    pthread_mutex_unlock(&stream->lock);
    return CUDA_SUCCESS;
}

API CUresult cuStreamEndCapture(CUstream handle, CUgraph *graph) { return end_capture(handle, graph, 0); }
API CUresult cuStreamEndCapture_ptsz(CUstream handle, CUgraph *graph) { return end_capture(handle, graph, 1); }

API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
    return mode == NULL ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

API CUresult cuEventCreate(CUevent *out, unsigned int flags)
{
    (void)flags;
    CUresult result = context_check(t_current);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    if (out == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    struct event *event = calloc(1, sizeof(*event));
    if (event == NULL) {
        return CUDA_ERROR_UNKNOWN;
    }
    event->context = t_current;
    *out = (CUevent)event;
    return CUDA_SUCCESS;
}

API CUresult cuEventDestroy_v2(CUevent handle)
{
    return handle == NULL ? CUDA_ERROR_INVALID_HANDLE : CUDA_SUCCESS; /* never freed: a late query stays safe */
}

/* The event completes when everything queued on the stream before it has: the stream's count at this moment. */
static CUresult event_record(CUevent handle, CUstream stream_handle, int per_thread)
{
    struct event *event = (struct event *)handle;
    if (event == NULL) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    struct stream *stream;
    CUresult result = resolve(stream_handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    pthread_mutex_lock(&stream->lock);
    event->stream = stream;
    event->captured = stream->capturing;
    event->target = stream->enqueued;
    event->recorded = 1;
    pthread_mutex_unlock(&stream->lock);
    return CUDA_SUCCESS;
}

API CUresult cuEventRecord(CUevent event, CUstream stream) { return event_record(event, stream, 0); }
API CUresult cuEventRecord_ptsz(CUevent event, CUstream stream) { return event_record(event, stream, 1); }

API CUresult cuEventQuery(CUevent handle)
{
    struct event *event = (struct event *)handle;
    if (event == NULL) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (!event->recorded) {
        return CUDA_SUCCESS; /* as CUDA: an event never recorded has completed */
    }
    if (event->captured) {
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    CUresult result = context_check(event->stream->context);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    return atomic_load(&event->stream->completed) >= event->target ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

API CUresult cuEventSynchronize(CUevent handle)
{
    for (;;) {
        CUresult result = cuEventQuery(handle);
        if (result != CUDA_ERROR_NOT_READY) {
            return result;
        }
        struct timespec pause = { 0, 100000 };
        nanosleep(&pause, NULL);
    }
}

/* ---- modules, functions, launches -------------------------------------------------------------------- */

API CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
    CUresult result = context_check(t_current);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    if (module == NULL || image == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *module = (CUmodule)calloc(1, 16);
    return *module != NULL ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
}

API CUresult cuModuleGetFunction(CUfunction *out, CUmodule module, const char *name)
{
    if (out == NULL || module == NULL || name == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    struct function *function = calloc(1, sizeof(*function));
    if (function == NULL) {
        return CUDA_ERROR_UNKNOWN;
    }
    snprintf(function->name, sizeof(function->name), "%s", name);
    *out = (CUfunction)function;
    return CUDA_SUCCESS;
}

static uint64_t kernel_ns(const struct function *function, void **params)
{
    if (strncmp(function->name, "sleep", 5) == 0 && params != NULL && params[0] != NULL) {
        return (uint64_t)*(const uint32_t *)params[0] * 1000ULL;
    }
    return default_kernel_ns();
}

static CUresult launch(CUfunction handle, CUstream stream_handle, void **params, int per_thread)
{
    const struct function *function = (const struct function *)handle;
    if (function == NULL) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    struct stream *stream;
    CUresult result = resolve(stream_handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    uint64_t duration = kernel_ns(function, params);
    int trap = strcmp(function->name, "trap") == 0;
    pthread_mutex_lock(&stream->lock);
    if (stream->capturing) {
        stream->capture->duration_ns += duration;
        stream->capture->nodes++;
        stream->capture->trap |= trap;
        pthread_mutex_unlock(&stream->lock);
        return CUDA_SUCCESS;
    }
    pthread_mutex_unlock(&stream->lock);
    return submit(stream, duration, trap);
}

API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
                            unsigned int bz, unsigned int shared, CUstream stream, void **params, void **extra)
{
    (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)shared, (void)extra;
    return launch(f, stream, params, 0);
}

API CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                 unsigned int by, unsigned int bz, unsigned int shared, CUstream stream, void **params,
                                 void **extra)
{
    (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)shared, (void)extra;
    return launch(f, stream, params, 1);
}

API CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **params, void **extra)
{
    (void)extra;
    return config == NULL ? CUDA_ERROR_INVALID_VALUE : launch(f, config->hStream, params, 0);
}

API CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f, void **params, void **extra)
{
    (void)extra;
    return config == NULL ? CUDA_ERROR_INVALID_VALUE : launch(f, config->hStream, params, 1);
}

API CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                       unsigned int by, unsigned int bz, unsigned int shared, CUstream stream, void **params)
{
    (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)shared;
    return launch(f, stream, params, 0);
}

API CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                            unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared,
                                            CUstream stream, void **params)
{
    (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)shared;
    return launch(f, stream, params, 1);
}

/* ---- graphs ------------------------------------------------------------------------------------------ */

API CUresult cuGraphCreate(CUgraph *out, unsigned int flags)
{
    if (out == NULL || flags != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *out = (CUgraph)calloc(1, sizeof(struct graph));
    return *out != NULL ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
}

API CUresult cuGraphDestroy(CUgraph graph)
{
    return graph == NULL ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

API CUresult cuGraphInstantiateWithFlags(CUgraphExec *out, CUgraph handle, unsigned long long flags)
{
    (void)flags;
    const struct graph *graph = (const struct graph *)handle;
    if (out == NULL || graph == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    struct graph_exec *exec = calloc(1, sizeof(*exec));
    if (exec == NULL) {
        return CUDA_ERROR_UNKNOWN;
    }
    exec->duration_ns = graph->duration_ns;
    exec->trap = graph->trap;
    *out = (CUgraphExec)exec;
    return CUDA_SUCCESS;
}

API CUresult cuGraphExecDestroy(CUgraphExec exec)
{
    return exec == NULL ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

static CUresult graph_launch(CUgraphExec handle, CUstream stream_handle, int per_thread)
{
    const struct graph_exec *exec = (const struct graph_exec *)handle;
    if (exec == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    struct stream *stream;
    CUresult result = resolve(stream_handle, per_thread, &stream);
    if (result != CUDA_SUCCESS) {
        return result;
    }
    pthread_mutex_lock(&stream->lock);
    int capturing = stream->capturing;
    if (capturing) {
        stream->capture->duration_ns += exec->duration_ns;
        stream->capture->nodes++;
    }
    pthread_mutex_unlock(&stream->lock);
    return capturing ? CUDA_SUCCESS : submit(stream, exec->duration_ns, exec->trap);
}

API CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream) { return graph_launch(exec, stream, 0); }
API CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream stream) { return graph_launch(exec, stream, 1); }

/* ---- errors ------------------------------------------------------------------------------------------ */

API CUresult cuGetErrorString(CUresult error, const char **text)
{
    if (text == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    switch (error) {
    case CUDA_SUCCESS: *text = "no error"; break;
    case CUDA_ERROR_NOT_READY: *text = "device not ready"; break;
    case CUDA_ERROR_ILLEGAL_ADDRESS: *text = "an illegal memory access was encountered"; break;
    case CUDA_ERROR_CONTEXT_IS_DESTROYED: *text = "context is destroyed"; break;
    case CUDA_ERROR_INVALID_HANDLE: *text = "invalid resource handle"; break;
    case CUDA_ERROR_NOT_FOUND: *text = "named symbol not found"; break;
    default: *text = "unknown error"; break;
    }
    return CUDA_SUCCESS;
}

/* ---- cuGetProcAddress -------------------------------------------------------------------------------- */

API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags);
API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
                                 CUdriverProcAddressQueryResult *status);

/*
 * Entry points by base name, as cuGetProcAddress looks them up: the version each first appeared in (or took its
 * current ABI), the legacy-stream function, and the per-thread-default-stream one where there is one. A name asked
 * for with a version below its first is "version not sufficient"; several ABIs of one name (cuGetProcAddress) are
 * listed newest first, so the newest the caller's version allows is given.
 */
static const struct entry {
    const char *name;
    int version;
    void *legacy;
    void *per_thread;
} g_entries[] = {
    { "cuGetProcAddress", 12000, (void *)cuGetProcAddress_v2, NULL },
    { "cuGetProcAddress", 11030, (void *)cuGetProcAddress, NULL },
    { "cuInit", 2000, (void *)cuInit, NULL },
    { "cuDriverGetVersion", 2020, (void *)cuDriverGetVersion, NULL },
    { "cuDeviceGetCount", 2000, (void *)cuDeviceGetCount, NULL },
    { "cuDeviceGet", 2000, (void *)cuDeviceGet, NULL },
    { "cuDeviceGetName", 2000, (void *)cuDeviceGetName, NULL },
    { "cuDeviceGetUuid", 11040, (void *)cuDeviceGetUuid_v2, NULL },
    { "cuDeviceGetUuid", 9020, (void *)cuDeviceGetUuid, NULL },
    { "cuDevicePrimaryCtxRetain", 7000, (void *)cuDevicePrimaryCtxRetain, NULL },
    { "cuDevicePrimaryCtxRelease", 11000, (void *)cuDevicePrimaryCtxRelease_v2, NULL },
    { "cuDevicePrimaryCtxReset", 11000, (void *)cuDevicePrimaryCtxReset_v2, NULL },
    { "cuCtxCreate", 3020, (void *)cuCtxCreate_v2, NULL },
    { "cuCtxDestroy", 4000, (void *)cuCtxDestroy_v2, NULL },
    { "cuCtxSetCurrent", 4000, (void *)cuCtxSetCurrent, NULL },
    { "cuCtxGetCurrent", 4000, (void *)cuCtxGetCurrent, NULL },
    { "cuCtxGetDevice", 2000, (void *)cuCtxGetDevice, NULL },
    { "cuCtxSynchronize", 2000, (void *)cuCtxSynchronize, NULL },
    { "cuStreamCreate", 2000, (void *)cuStreamCreate, NULL },
    { "cuStreamDestroy", 4000, (void *)cuStreamDestroy_v2, NULL },
    { "cuStreamSynchronize", 2000, (void *)cuStreamSynchronize, (void *)cuStreamSynchronize_ptsz },
    { "cuStreamQuery", 2000, (void *)cuStreamQuery, (void *)cuStreamQuery_ptsz },
    { "cuStreamGetCtx", 9020, (void *)cuStreamGetCtx, NULL },
    { "cuStreamIsCapturing", 10000, (void *)cuStreamIsCapturing, (void *)cuStreamIsCapturing_ptsz },
    { "cuStreamBeginCapture", 10010, (void *)cuStreamBeginCapture_v2, (void *)cuStreamBeginCapture_v2_ptsz },
    { "cuStreamBeginCapture", 10000, (void *)cuStreamBeginCapture, (void *)cuStreamBeginCapture_ptsz },
    { "cuStreamEndCapture", 10000, (void *)cuStreamEndCapture, (void *)cuStreamEndCapture_ptsz },
    { "cuThreadExchangeStreamCaptureMode", 10010, (void *)cuThreadExchangeStreamCaptureMode, NULL },
    { "cuEventCreate", 2000, (void *)cuEventCreate, NULL },
    { "cuEventDestroy", 4000, (void *)cuEventDestroy_v2, NULL },
    { "cuEventRecord", 2000, (void *)cuEventRecord, (void *)cuEventRecord_ptsz },
    { "cuEventQuery", 2000, (void *)cuEventQuery, NULL },
    { "cuEventSynchronize", 2000, (void *)cuEventSynchronize, NULL },
    { "cuModuleLoadData", 2000, (void *)cuModuleLoadData, NULL },
    { "cuModuleGetFunction", 2000, (void *)cuModuleGetFunction, NULL },
    { "cuLaunchKernel", 4000, (void *)cuLaunchKernel, (void *)cuLaunchKernel_ptsz },
    { "cuLaunchKernelEx", 11060, (void *)cuLaunchKernelEx, (void *)cuLaunchKernelEx_ptsz },
    { "cuLaunchCooperativeKernel", 9000, (void *)cuLaunchCooperativeKernel, (void *)cuLaunchCooperativeKernel_ptsz },
    { "cuGraphCreate", 10000, (void *)cuGraphCreate, NULL },
    { "cuGraphDestroy", 10000, (void *)cuGraphDestroy, NULL },
    { "cuGraphInstantiateWithFlags", 11040, (void *)cuGraphInstantiateWithFlags, NULL },
    { "cuGraphExecDestroy", 10000, (void *)cuGraphExecDestroy, NULL },
    { "cuGraphLaunch", 10000, (void *)cuGraphLaunch, (void *)cuGraphLaunch_ptsz },
    { "cuGetErrorString", 6000, (void *)cuGetErrorString, NULL },
};

API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
                                 CUdriverProcAddressQueryResult *status)
{
    if (symbol == NULL || pfn == NULL) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof(g_entries) / sizeof(g_entries[0]); i++) {
        const struct entry *entry = &g_entries[i];
        if (strcmp(entry->name, symbol) != 0) {
            continue;
        }
        known = 1;
        if (cudaVersion < entry->version) {
            continue;
        }
        *pfn = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0 && entry->per_thread != NULL
                   ? entry->per_thread
                   : entry->legacy;
        if (status != NULL) {
            *status = CU_GET_PROC_ADDRESS_SUCCESS;
        }
        return CUDA_SUCCESS;
    }
    *pfn = NULL;
    if (status != NULL) {
        *status = known ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    }
    return CUDA_ERROR_NOT_FOUND;
}

API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags)
{
    return cuGetProcAddress_v2(symbol, pfn, cudaVersion, flags, NULL);
}
