/*
 * The page a process running under the CUDA launch probe shares with drover-agent: one file per process,
 * <DROVER_GPU_PROBE_DIR>/<pid>.page, mapped by both (the probe writes, the agent reads at its sampling interval:
 * no syscall per launch, none per read once mapped). A fixed, versioned layout of little-endian integers; the
 * agent's reader (agent/Drover.Agent/Telemetry/GpuProbePage.cs) has the same offsets and a test checks them.
 *
 * Consistency: one writer (the probe's poller thread) and a sequence lock. The writer makes `sequence` odd, writes
 * the counters, then makes it even again; a reader that sees an odd value, or a different value after reading,
 * reads again. `publishes` grows with every publication, busy or idle, so a reader tells a live probe from one that
 * stopped (a hung or stopped process) by it not changing.
 */
#ifndef DROVER_PROBE_PAGE_H
#define DROVER_PROBE_PAGE_H

#include <stdint.h>

#define DROVER_PROBE_MAGIC 0x45424f5250525644ULL /* "DVRPROBE" read as a little-endian u64 */
#define DROVER_PROBE_VERSION 1u
#define DROVER_PROBE_MAX_DEVICES 32u
#define DROVER_PROBE_FILE_BYTES 8192u

struct drover_probe_device {      /* 128 bytes */
    uint8_t uuid[16];             /*   0 cuDeviceGetUuid_v2's bytes */
    uint64_t submitted;           /*  16 launches and graph launches that succeeded, outside stream capture */
    uint64_t completed;           /*  24 of those, retired by an event that completed */
    uint64_t in_flight;           /*  32 submitted - completed - abandoned: the command-queue length */
    uint64_t oldest_age_ns;       /*  40 age of the oldest submission in flight when published; 0 when none */
    uint64_t abandoned;           /*  48 in flight when their context was destroyed or hit a sticky error */
    uint64_t resets;              /*  56 contexts destroyed or failed with work counted on this device */
    uint64_t capture_skipped;     /*  64 launches into a stream being captured (not submissions: not counted) */
    char uuid_text[48];           /*  72 "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", NUL-terminated, for people */
    uint64_t reserved;            /* 120 */
};

struct drover_probe_page {        /* 64-byte header, then the devices */
    uint64_t magic;               /*   0 DROVER_PROBE_MAGIC */
    uint32_t version;             /*   8 DROVER_PROBE_VERSION */
    uint32_t header_bytes;        /*  12 64 */
    uint32_t device_capacity;     /*  16 DROVER_PROBE_MAX_DEVICES */
    uint32_t device_bytes;        /*  20 128 */
    int32_t pid;                  /*  24 the process that writes it */
    uint32_t device_count;        /*  28 devices[0..device_count-1] are in use */
    uint64_t sequence;            /*  32 the sequence lock: odd while the writer writes */
    uint64_t publishes;           /*  40 publications so far */
    uint64_t start_time;          /*  48 the process's start time, clock ticks after boot (/proc/<pid>/stat field 22) */
    uint64_t passthrough;         /*  56 entry points handed out unwrapped (an address cuGetProcAddress gave that the
                                         probe could not match): their launches are not counted */
    struct drover_probe_device devices[DROVER_PROBE_MAX_DEVICES];
};

_Static_assert(sizeof(struct drover_probe_device) == 128, "device record is 128 bytes");
_Static_assert(sizeof(struct drover_probe_page) == 64 + 128 * DROVER_PROBE_MAX_DEVICES, "page layout");
_Static_assert(sizeof(struct drover_probe_page) <= DROVER_PROBE_FILE_BYTES, "page fits its file");

#endif
