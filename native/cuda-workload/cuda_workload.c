/*
 * cuda-workload: a CUDA-style program with a known launch rate and kernel duration, for the launch probe's tests,
 * its benchmark and the demo. It loads the driver as the CUDA runtime does (dlopen of libcuda.so.1, then dlsym or
 * cuGetProcAddress), creates a context, loads its module (PTX text, so a real driver JIT-compiles it: "sleep_us"
 * spins on the GPU's global timer for the microseconds in its first parameter, "trap" fails the context; the stand-in
 * libcuda runs the same names for the same durations) and launches. The same binary thus runs on a real GPU.
 *
 *   cuda-workload [options]
 *     --lib PATH          the driver library to dlopen [libcuda.so.1]
 *     --resolve HOW       dlsym (entry points by name) or getproc (cuGetProcAddress_v2, as the runtime does) [dlsym]
 *     --ptds              per-thread default streams: the _ptsz entry points, or the PER_THREAD_DEFAULT_STREAM flag
 *     --api WHAT          kernel, ex (cuLaunchKernelEx), coop (cuLaunchCooperativeKernel) or graph [kernel]
 *     --graph-kernels K   graph: kernels captured into the graph (each of --kernel-us) [1]
 *     --streams N         explicit streams used in turn; 0 for the default stream [0]
 *     --threads T         launching threads, each with its own streams, sharing the launches [1]
 *     --count N           launches in all (each thread a share) [100]
 *     --rate R            launches per second in all; 0 for as fast as possible [0]
 *     --forever           launch at --rate until killed (--count is ignored)
 *     --kernel-us D       each kernel's duration in microseconds [1000]
 *     --hold              after the launches, wait for them to finish, print "done", then wait for stdin to close
 *     --trap              after the launches, launch one kernel that fails the context (stand-in only)
 *     --serve             answer HTTP on $PORT (200 to anything), so a Drover shim sees the instance ready
 *     --bench N           time N launches of a zero-length kernel in a tight loop; print "ns_per_launch <x>"
 * Prints "ready" once the context exists and "launched <n>" when the launches are submitted.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drover_cuda.h"

typedef CUresult (*cuInit_t)(unsigned int);
typedef CUresult (*cuDriverGetVersion_t)(int *);
typedef CUresult (*cuDeviceGet_t)(CUdevice *, int);
typedef CUresult (*cuDevicePrimaryCtxRetain_t)(CUcontext *, CUdevice);
typedef CUresult (*cuCtxSetCurrent_t)(CUcontext);
typedef CUresult (*cuStreamCreate_t)(CUstream *, unsigned int);
typedef CUresult (*cuStreamSynchronize_t)(CUstream);
typedef CUresult (*cuCtxSynchronize_t)(void);
typedef CUresult (*cuModuleLoadData_t)(CUmodule *, const void *);
typedef CUresult (*cuModuleGetFunction_t)(CUfunction *, CUmodule, const char *);
typedef CUresult (*cuStreamBeginCapture_t)(CUstream, CUstreamCaptureMode);
typedef CUresult (*cuStreamEndCapture_t)(CUstream, CUgraph *);
typedef CUresult (*cuGraphInstantiateWithFlags_t)(CUgraphExec *, CUgraph, unsigned long long);

static struct {
    cuInit_t init;
    cuDriverGetVersion_t driver_version;
    cuDeviceGet_t device_get;
    cuDevicePrimaryCtxRetain_t primary_retain;
    cuCtxSetCurrent_t ctx_set_current;
    cuStreamCreate_t stream_create;
    cuStreamSynchronize_t stream_synchronize;
    cuCtxSynchronize_t ctx_synchronize;
    cuModuleLoadData_t module_load_data;
    cuModuleGetFunction_t module_get_function;
    cuStreamBeginCapture_t begin_capture;
    cuStreamEndCapture_t end_capture;
    cuGraphInstantiateWithFlags_t graph_instantiate;
    cuLaunchKernel_t launch;
    cuLaunchKernelEx_t launch_ex;
    cuLaunchCooperativeKernel_t launch_coop;
    cuGraphLaunch_t graph_launch;
} cu;

static struct {
    const char *lib;
    int getproc;
    int ptds;
    const char *api;
    unsigned graph_kernels;
    unsigned streams;
    unsigned threads;
    unsigned long count;
    double rate;
    int forever;
    unsigned kernel_us;
    int hold;
    int trap;
    int serve;
    unsigned long bench;
} opt = { "libcuda.so.1", 0, 0, "kernel", 1, 0, 1, 100, 0, 0, 1000, 0, 0, 0, 0 };

/* The kernels, as PTX (ISA 7.0, any GPU from sm_52): the driver compiles them for the GPU it runs on. */
static const char g_ptx[] =
    ".version 7.0\n"
    ".target sm_52\n"
    ".address_size 64\n"
    ".visible .entry sleep_us(.param .u32 us)\n"
    "{\n"
    "  .reg .pred p;\n"
    "  .reg .b32 r;\n"
    "  .reg .b64 wait, start, end, now;\n"
    "  ld.param.u32 r, [us];\n"
    "  cvt.u64.u32 wait, r;\n"
    "  mul.lo.u64 wait, wait, 1000;\n"
    "  mov.u64 start, %globaltimer;\n"
    "  add.u64 end, start, wait;\n"
    "SPIN:\n"
    "  mov.u64 now, %globaltimer;\n"
    "  setp.lt.u64 p, now, end;\n"
    "  @p bra SPIN;\n"
    "  ret;\n"
    "}\n"
    ".visible .entry trap()\n"
    "{\n"
    "  trap;\n"
    "}\n";

static CUcontext g_context;
static CUfunction g_sleep;
static CUfunction g_trap;

static void die(const char *what, CUresult result)
{
    fprintf(stderr, "cuda-workload: %s failed: %d\n", what, result);
    exit(1);
}

#define CHECK(call, what)                                                                                              \
    do {                                                                                                               \
        CUresult result_ = (call);                                                                                     \
        if (result_ != CUDA_SUCCESS) {                                                                                 \
            die(what, result_);                                                                                        \
        }                                                                                                              \
    } while (0)

static void *g_library;
static cuGetProcAddress_v2_t g_getproc;

/* One entry point, by name with dlsym or by base name and flags with cuGetProcAddress_v2. */
static void *entry(const char *base, int stream_sensitive)
{
    void *function = NULL;
    if (opt.getproc) {
        cuuint64_t flags = opt.ptds && stream_sensitive ? CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
                                                        : CU_GET_PROC_ADDRESS_DEFAULT;
        CUdriverProcAddressQueryResult status;
        if (g_getproc(base, &function, 12040, flags, &status) != CUDA_SUCCESS) {
            function = NULL;
        }
    } else {
        /* The newest ABI first, as cuda.h's macros name it (cuStreamBeginCapture is cuStreamBeginCapture_v2). */
        char name[128];
        snprintf(name, sizeof(name), "%s_v2%s", base, opt.ptds && stream_sensitive ? "_ptsz" : "");
        function = dlsym(g_library, name);
        if (function == NULL) {
            snprintf(name, sizeof(name), "%s%s", base, opt.ptds && stream_sensitive ? "_ptsz" : "");
            function = dlsym(g_library, name);
        }
    }
    if (function == NULL) {
        fprintf(stderr, "cuda-workload: no entry point %s\n", base);
        exit(1);
    }
    return function;
}

static void load(void)
{
    g_library = dlopen(opt.lib, RTLD_NOW | RTLD_LOCAL);
    if (g_library == NULL) {
        fprintf(stderr, "cuda-workload: cannot load %s: %s\n", opt.lib, dlerror());
        exit(1);
    }
    if (opt.getproc) {
        g_getproc = (cuGetProcAddress_v2_t)dlsym(g_library, "cuGetProcAddress_v2");
        if (g_getproc == NULL) {
            fprintf(stderr, "cuda-workload: no cuGetProcAddress_v2\n");
            exit(1);
        }
        /* As the runtime does: the driver's own cuGetProcAddress, asked through itself. */
        void *again = NULL;
        if (g_getproc("cuGetProcAddress", &again, 12040, 0, NULL) == CUDA_SUCCESS && again != NULL) {
            g_getproc = (cuGetProcAddress_v2_t)again;
        }
    }
    cu.init = (cuInit_t)entry("cuInit", 0);
    cu.driver_version = (cuDriverGetVersion_t)entry("cuDriverGetVersion", 0);
    cu.device_get = (cuDeviceGet_t)entry("cuDeviceGet", 0);
    cu.primary_retain = (cuDevicePrimaryCtxRetain_t)entry("cuDevicePrimaryCtxRetain", 0);
    cu.ctx_set_current = (cuCtxSetCurrent_t)entry("cuCtxSetCurrent", 0);
    cu.stream_create = (cuStreamCreate_t)entry("cuStreamCreate", 0);
    cu.stream_synchronize = (cuStreamSynchronize_t)entry("cuStreamSynchronize", 1);
    cu.ctx_synchronize = (cuCtxSynchronize_t)entry("cuCtxSynchronize", 0);
    cu.module_load_data = (cuModuleLoadData_t)entry("cuModuleLoadData", 0);
    cu.module_get_function = (cuModuleGetFunction_t)entry("cuModuleGetFunction", 0);
    cu.begin_capture = (cuStreamBeginCapture_t)entry("cuStreamBeginCapture", 1);
    cu.end_capture = (cuStreamEndCapture_t)entry("cuStreamEndCapture", 1);
    cu.graph_instantiate = (cuGraphInstantiateWithFlags_t)entry("cuGraphInstantiateWithFlags", 0);
    cu.launch = (cuLaunchKernel_t)entry("cuLaunchKernel", 1);
    cu.launch_ex = (cuLaunchKernelEx_t)entry("cuLaunchKernelEx", 1);
    cu.launch_coop = (cuLaunchCooperativeKernel_t)entry("cuLaunchCooperativeKernel", 1);
    cu.graph_launch = (cuGraphLaunch_t)entry("cuGraphLaunch", 1);
}

static CUresult launch_kernel(CUfunction function, CUstream stream, unsigned microseconds)
{
    uint32_t duration = microseconds;
    void *params[] = { &duration };
    if (strcmp(opt.api, "ex") == 0) {
        CUlaunchConfig config = { 1, 1, 1, 32, 1, 1, 0, stream, NULL, 0 };
        return cu.launch_ex(&config, function, params, NULL);
    }
    if (strcmp(opt.api, "coop") == 0) {
        return cu.launch_coop(function, 1, 1, 1, 32, 1, 1, 0, stream, params);
    }
    return cu.launch(function, 1, 1, 1, 32, 1, 1, 0, stream, params, NULL);
}

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

static void sleep_until(uint64_t at)
{
    struct timespec until = { (time_t)(at / 1000000000ULL), (long)(at % 1000000000ULL) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
}

struct worker {
    unsigned index;
    unsigned long count;
    CUstream *streams;
    unsigned stream_count;
    CUgraphExec graph;
    unsigned long launched;
};

static void *launcher(void *argument)
{
    struct worker *w = argument;
    CHECK(cu.ctx_set_current(g_context), "cuCtxSetCurrent");
    w->stream_count = opt.streams;
    w->streams = calloc(opt.streams > 0 ? opt.streams : 1, sizeof(CUstream));
    for (unsigned s = 0; s < opt.streams; s++) {
        CHECK(cu.stream_create(&w->streams[s], CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    }
    if (strcmp(opt.api, "graph") == 0) {
        /* Captured on a stream of its own (the legacy stream cannot be captured): these launches submit nothing. */
        CUstream capture;
        CUgraph graph;
        CHECK(cu.stream_create(&capture, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        CHECK(cu.begin_capture(capture, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        for (unsigned k = 0; k < opt.graph_kernels; k++) {
            CHECK(launch_kernel(g_sleep, capture, opt.kernel_us), "a launch into the capture");
        }
        CHECK(cu.end_capture(capture, &graph), "cuStreamEndCapture");
        CHECK(cu.graph_instantiate(&w->graph, graph, 0), "cuGraphInstantiateWithFlags");
    }
    double per_thread_rate = opt.rate / opt.threads;
    uint64_t start = now_ns();
    for (unsigned long i = 0; opt.forever || i < w->count; i++) {
        if (per_thread_rate > 0) {
            sleep_until(start + (uint64_t)((double)i * 1e9 / per_thread_rate));
        }
        CUstream stream = opt.streams > 0 ? w->streams[i % opt.streams] : NULL;
        CUresult result = w->graph != NULL ? cu.graph_launch(w->graph, stream) : launch_kernel(g_sleep, stream, opt.kernel_us);
        if (result != CUDA_SUCCESS) {
            die("a launch", result);
        }
        w->launched++;
    }
    return NULL;
}

static void *serve(void *argument)
{
    (void)argument;
    const char *port = getenv("PORT");
    if (port == NULL) {
        return NULL;
    }
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int yes = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(listener, 16) != 0) {
        perror("cuda-workload: listen");
        return NULL;
    }
    for (;;) {
        int connection = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (connection < 0) {
            continue;
        }
        char request[4096];
        ssize_t got = recv(connection, request, sizeof(request), 0);
        (void)got;
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
        ssize_t sent = send(connection, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
        (void)sent;
        close(connection);
    }
    return NULL;
}

static void bench(void)
{
    CUstream stream = NULL;
    if (opt.streams > 0) {
        CHECK(cu.stream_create(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    }
    for (unsigned long i = 0; i < opt.bench / 10 + 1000; i++) { /* warm up */
        CHECK(launch_kernel(g_sleep, stream, 0), "a launch");
    }
    uint64_t start = now_ns();
    for (unsigned long i = 0; i < opt.bench; i++) {
        launch_kernel(g_sleep, stream, 0);
    }
    uint64_t elapsed = now_ns() - start;
    printf("ns_per_launch %.1f\n", (double)elapsed / (double)opt.bench);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE() (next != NULL ? (i++, next) : (fprintf(stderr, "cuda-workload: %s needs a value\n", a), exit(2), ""))
        if (strcmp(a, "--lib") == 0) {
            opt.lib = VALUE();
        } else if (strcmp(a, "--resolve") == 0) {
            const char *how = VALUE();
            opt.getproc = strcmp(how, "getproc") == 0;
        } else if (strcmp(a, "--ptds") == 0) {
            opt.ptds = 1;
        } else if (strcmp(a, "--api") == 0) {
            opt.api = VALUE();
        } else if (strcmp(a, "--graph-kernels") == 0) {
            opt.graph_kernels = (unsigned)atoi(VALUE());
        } else if (strcmp(a, "--streams") == 0) {
            opt.streams = (unsigned)atoi(VALUE());
        } else if (strcmp(a, "--threads") == 0) {
            opt.threads = (unsigned)atoi(VALUE());
        } else if (strcmp(a, "--count") == 0) {
            opt.count = strtoul(VALUE(), NULL, 10);
        } else if (strcmp(a, "--rate") == 0) {
            opt.rate = atof(VALUE());
        } else if (strcmp(a, "--forever") == 0) {
            opt.forever = 1;
        } else if (strcmp(a, "--kernel-us") == 0) {
            opt.kernel_us = (unsigned)atoi(VALUE());
        } else if (strcmp(a, "--hold") == 0) {
            opt.hold = 1;
        } else if (strcmp(a, "--trap") == 0) {
            opt.trap = 1;
        } else if (strcmp(a, "--serve") == 0) {
            opt.serve = 1;
        } else if (strcmp(a, "--bench") == 0) {
            opt.bench = strtoul(VALUE(), NULL, 10);
        } else {
            fprintf(stderr, "cuda-workload: unknown option %s (see the comment at the top of cuda_workload.c)\n", a);
            return 2;
        }
    }
    if (opt.threads == 0) {
        opt.threads = 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (opt.serve) {
        pthread_t server;
        pthread_create(&server, NULL, serve, NULL);
    }

    load();
    CUdevice device;
    CUmodule module;
    CHECK(cu.init(0), "cuInit");
    CHECK(cu.device_get(&device, 0), "cuDeviceGet");
    CHECK(cu.primary_retain(&g_context, device), "cuDevicePrimaryCtxRetain");
    CHECK(cu.ctx_set_current(g_context), "cuCtxSetCurrent");
    CHECK(cu.module_load_data(&module, g_ptx), "cuModuleLoadData");
    CHECK(cu.module_get_function(&g_sleep, module, "sleep_us"), "cuModuleGetFunction");
    CHECK(cu.module_get_function(&g_trap, module, "trap"), "cuModuleGetFunction");
    int version = 0;
    cu.driver_version(&version);
    printf("ready (CUDA driver API %d.%d)\n", version / 1000, version % 1000 / 10);

    if (opt.bench > 0) {
        bench();
        return 0;
    }

    struct worker *workers = calloc(opt.threads, sizeof(*workers));
    pthread_t *threads = calloc(opt.threads, sizeof(*threads));
    for (unsigned t = 0; t < opt.threads; t++) {
        workers[t].index = t;
        workers[t].count = opt.count / opt.threads + (t < opt.count % opt.threads ? 1 : 0);
        pthread_create(&threads[t], NULL, launcher, &workers[t]);
    }
    unsigned long launched = 0;
    for (unsigned t = 0; t < opt.threads; t++) {
        pthread_join(threads[t], NULL);
        launched += workers[t].launched;
    }
    printf("launched %lu\n", launched);
    if (opt.trap) {
        CUresult result = cu.launch(g_trap, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
        printf("trap %d\n", result);
    }
    if (opt.hold) {
        if (!opt.trap) {
            for (unsigned t = 0; t < opt.threads; t++) {
                for (unsigned s = 0; s < workers[t].stream_count; s++) {
                    cu.stream_synchronize(workers[t].streams[s]);
                }
            }
            cu.ctx_synchronize();
        }
        printf("done\n");
        char buffer[256];
        while (read(0, buffer, sizeof(buffer)) > 0) {
        }
    }
    return 0;
}
