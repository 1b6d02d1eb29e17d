/*
 * fake-nvml: a stand-in for NVIDIA's libnvidia-ml.so.1 on machines without GPUs.
 *
 * It exports a subset of NVML with the exact ABI of nvml.h (types, struct layouts, versioned symbol
 * names, return codes, nvmlErrorString texts), so the agent's real interop runs against it unchanged.
 * It is loaded through the agent's configured library path; it never replaces a system library.
 *
 * Scenario file
 *   The GPUs come from the text file named by the environment variable DROVER_FAKE_NVML_SCENARIO:
 *   `key=value` lines, `#` starts a comment, blank lines are fine. Keys (defaults in brackets):
 *     driver_version=550.54.15                       [550.54.15]
 *     init=ok|version_mismatch|driver_not_loaded|no_permission   [ok] what nvmlInit_v2 returns
 *     driver_epoch=N                                 [0] a driver reload: see "Choices"
 *     gpu.count=N                                    [0] at most 64
 *     gpu.<i>.name=NVIDIA H100 80GB HBM3             [NVIDIA H100 80GB HBM3]
 *     gpu.<i>.uuid=GPU-...                           [GPU-fa4e0000-0000-4000-8000-<i as 12 hex digits>]
 *     gpu.<i>.pci_bus_id=00000000:17:00.0            [00000000:<0x18+i>:00.0], domain:bus:device.function in hex
 *     gpu.<i>.memory_total=bytes                     [85899345920]
 *     gpu.<i>.memory_used=bytes                      [0]  free = total - used - reserved (never below 0)
 *     gpu.<i>.memory_reserved=bytes                  [0]
 *     gpu.<i>.util_gpu=0..100  gpu.<i>.util_memory=0..100       [0]
 *     gpu.<i>.temperature=C                          [30]
 *     gpu.<i>.memory_temp=C                          [38] 0 to 1000: nvmlDeviceGetFieldValues' NVML_FI_DEV_MEMORY_TEMP
 *     gpu.<i>.power_mw=mW                            [70000]
 *     gpu.<i>.mig=0|1                                [0] current (and pending) MIG mode
 *     gpu.<i>.processes=pid:bytes,pid:bytes          [empty] at most 128 entries; a byte count of
 *                                                    0xFFFFFFFFFFFFFFFF is NVML_VALUE_NOT_AVAILABLE
 *     gpu.<i>.state=ok|lost|not_supported|no_permission|reset_required|unknown|not_ready   [ok]
 *     gpu.<i>.hang=0|1                               [0] 1: that GPU's telemetry and event calls block
 *     gpu.<i>.xid=N                                  [0] a change to a nonzero value raises one event
 *     gpu.<i>.supported_events=mask                  [0xF] SingleBitEcc|DoubleBitEcc|PState|XidCriticalError
 *     gpu.<i>.clock_sm=MHz                           [1980] NVML_CLOCK_GRAPHICS and NVML_CLOCK_SM
 *     gpu.<i>.clock_mem=MHz                          [2619]
 *     gpu.<i>.clock_video=MHz                        [1755]
 *     gpu.<i>.clock_event_reasons=mask               [0] both reasons calls (nvmlClocksEventReason* bits)
 *     gpu.<i>.energy_mj=mJ                           [0] total energy since the driver loaded
 *     gpu.<i>.pcie_tx_kbps=KB/s  gpu.<i>.pcie_rx_kbps=KB/s      [0]
 *     gpu.<i>.pcie_replays=N                         [0]
 *     gpu.<i>.util_encoder=0..100  gpu.<i>.util_decoder=0..100  [0] sampling period always 1000000 us
 *     gpu.<i>.ecc_corrected=N  gpu.<i>.ecc_uncorrected=N        [0] volatile and aggregate alike
 *     gpu.<i>.remapped_corrected=N  gpu.<i>.remapped_uncorrected=N   [0] rows
 *     gpu.<i>.remap_pending=0|1  gpu.<i>.remap_failure=0|1      [0]
 *     gpu.<i>.unsupported=name,name,...              [empty] clocks, clock_event_reasons, energy, pcie,
 *                                                    encoder, decoder, ecc, remapped_rows, memory_temp:
 *                                                    see "Choices"
 *     gpu.<i>.gpm=0|1                                [0] GPM (GPU Performance Monitoring, Hopper and later):
 *                                                    GPUs before Hopper lack it, so scenarios opt in; see "GPM"
 *     gpu.<i>.gpm_graphics=0..100  gpu.<i>.gpm_sm=0..100  gpu.<i>.gpm_occupancy=0..100   [0] percent: the GPM
 *                                                    metrics GRAPHICS_UTIL, SM_UTIL and SM_OCCUPANCY of the GPU
 *   MIG devices of a GPU (they exist only while gpu.<i>.mig=1; <m> is 0 to 6; see "MIG devices" below):
 *     gpu.<i>.mig.count=N                            [0] at most 7: slots 0 to N-1 are MIG devices
 *     gpu.<i>.mig.<m>.uuid=MIG-...                   [MIG-fa4e0000-0000-4000-9000-<i as 6 hex digits>
 *                                                    <m as 6 hex digits>]
 *     gpu.<i>.mig.<m>.profile=1g.10gb                [1g.10gb] at most 31 characters
 *     gpu.<i>.mig.<m>.gi=N  gpu.<i>.mig.<m>.ci=N     [m + 1] / [0] GPU instance id / compute instance id
 *     gpu.<i>.mig.<m>.memory_total=bytes             [10737418240]
 *     gpu.<i>.mig.<m>.memory_used=bytes  gpu.<i>.mig.<m>.memory_reserved=bytes   [0]
 *     gpu.<i>.mig.<m>.processes=pid:bytes,...        [empty] as gpu.<i>.processes, at most 32 entries
 *     gpu.<i>.mig.<m>.xid=N                          [0] a change to a nonzero value raises one event on
 *                                                    the parent GPU (see "MIG devices")
 *     gpu.<i>.mig.<m>.gpm_graphics=0..100  gpu.<i>.mig.<m>.gpm_sm=0..100  gpu.<i>.mig.<m>.gpm_occupancy=0..100
 *                                                    [0] the GPM metrics of that MIG device's GPU instance, as
 *                                                    nvmlGpmMigSampleGet samples them (see "GPM")
 *   Driver generations (the process list's symbols and record size, the clock event reasons symbol, the GPM
 *   symbols; see "Exports"):
 *     export.nvmlDeviceGetComputeRunningProcesses_v3=0|1   [1]
 *     export.nvmlDeviceGetComputeRunningProcesses_v2=0|1   [1]
 *     export.nvmlDeviceGetConfComputeMemSizeInfo=0|1       [1]
 *     export.nvmlDeviceGetRunningProcessDetailList=0|1     [1]
 *     export.nvmlDeviceGetCurrentClocksEventReasons=0|1    [1]
 *     export.nvmlGpmSampleAlloc=0|1                        [1]
 *     export.nvmlGpmSampleFree=0|1                         [1]
 *     export.nvmlGpmSampleGet=0|1                          [1]
 *     export.nvmlGpmMigSampleGet=0|1                       [1]
 *     export.nvmlGpmMetricsGet=0|1                         [1]
 *     export.nvmlGpmQueryDeviceSupport=0|1                 [1]
 *     process_record_bytes=24|32                     [24] the record size nvmlDeviceGetComputeRunningProcesses_v3
 *                                                    writes; 32 adds usedGpuCcProtectedMemory at offset 24
 *   The layouts real drivers have (defaults: 535.104 and later, 545-560):
 *     R510/R515 without _v3    export.nvmlDeviceGetComputeRunningProcesses_v3=0
 *                              export.nvmlDeviceGetConfComputeMemSizeInfo=0
 *                              export.nvmlDeviceGetRunningProcessDetailList=0
 *                              export.nvmlDeviceGetCurrentClocksEventReasons=0 (any driver before R535)
 *                              export.nvmlGpmSampleAlloc=0  export.nvmlGpmSampleFree=0
 *                              export.nvmlGpmSampleGet=0  export.nvmlGpmMigSampleGet=0
 *                              export.nvmlGpmMetricsGet=0  export.nvmlGpmQueryDeviceSupport=0
 *                              (the GPM calls came with R520)
 *     535.43 to 535.86         process_record_bytes=32   export.nvmlDeviceGetRunningProcessDetailList=0
 *     535.98                   export.nvmlDeviceGetComputeRunningProcesses_v3=0
 *   Numbers are decimal or 0x-prefixed hex. Unknown keys (gpu.<i>.command_queue, which the agent's tests
 *   use, gpu.<i>.mig.<m>.<unknown field>, and any other) are ignored silently. A malformed line (no '=', a
 *   bad number, an unknown enum value, a GPU index of 64 or more, a MIG slot of 7 or more, mig.count above
 *   7) is ignored with one message on stderr naming the file, the line number
 *   and the reason; the rest of the file still applies. Nothing in a scenario file can crash the library.
 *
 * Choices (where real NVML gives no model to follow)
 *   - Missing file: when the variable is unset or empty, or the file does not exist (or cannot be read),
 *     the library behaves as a driver with zero GPUs and nvmlInit_v2 returns NVML_SUCCESS. A file that
 *     appears later is picked up by the next re-read.
 *   - Re-reading: nvmlInit_v2 reads the environment variable again (getenv at every call, so one process
 *     can nvmlShutdown, point the variable at another file and init again) and checks the file at once.
 *     Afterwards every call checks the file's identity (inode, size, mtime) at most every 100 ms, under the
 *     library's mutex, and re-parses it when that changed. DROVER_FAKE_NVML_RELOAD_MS (read at nvmlInit_v2)
 *     overrides the 100 ms; 0 checks on every call, which lets a test see a change on its next read.
 *     Write scenario files atomically (write a temporary file, then rename it over the old one): a file
 *     rewritten in place can be read half-written.
 *   - Every re-parse starts from the defaults: a key removed from the file returns to its default.
 *   - Init is reference-counted like NVML: each successful nvmlInit_v2 needs one nvmlShutdown; a failing
 *     init (init=... other than ok) does not count. Calls other than nvmlInit_v2 and nvmlErrorString
 *     return NVML_ERROR_UNINITIALIZED while the count is 0.
 *   - driver_epoch: every successful nvmlInit_v2 notes the value. While the file names another value, the
 *     driver was reloaded under the library: every GPU answers NVML_ERROR_GPU_IS_LOST to every call, as a lost
 *     one does (handles, telemetry, events), until nvmlInit_v2 is called again (a client shuts down and
 *     initialises again), which notes the new value. A client that only enumerates again under its old
 *     initialisation never gets its GPUs back. (Noted at every init rather than only when the count leaves 0,
 *     so another initialisation held elsewhere in the process cannot keep a client's recovery from working.)
 *   - Device handles point into a static table, one slot per index; they stay valid for the life of the
 *     process. A handle whose index is no longer below gpu.count returns NVML_ERROR_GPU_IS_LOST.
 *   - gpu.<i>.state: `lost` makes every call on that GPU return NVML_ERROR_GPU_IS_LOST, including
 *     nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetUUID/Name/PciInfo_v3 and the event calls.
 *     `not_supported` and `no_permission` apply to the telemetry and event calls (memory, utilization,
 *     temperature, power, MIG mode, processes, clocks, clock event reasons, energy, PCIe throughput and
 *     replays, encoder/decoder utilization, ECC counts, remapped rows, supported event types, event
 *     registration, field values, and the GPM calls that take a device) and return
 *     NVML_ERROR_NOT_SUPPORTED / NVML_ERROR_NO_PERMISSION; the identity calls (handle by index, UUID, name,
 *     PCI info) keep working, as for a GPU the driver knows but whose telemetry the caller may not read.
 *     `reset_required`, `unknown` and `not_ready` answer NVML_ERROR_RESET_REQUIRED / NVML_ERROR_UNKNOWN /
 *     NVML_ERROR_NOT_READY to the same telemetry and event calls, as a GPU that needs a reset, has stopped
 *     answering sensibly, or is still being set up; its identity calls keep working, so it stays enumerated.
 *     (GPU_IS_LOST is `lost`; a hardware or application XID is raised with gpu.<i>.xid.)
 *     When the state returns to ok, the same handle (or one fetched again by index) works again.
 *   - gpu.<i>.hang=1: a hung driver call, the failure the agent's systemd watchdog exists for. The same
 *     telemetry and event calls that gpu.<i>.state affects block until a re-read finds the key back at 0
 *     (or the GPU lost, or the library shut down), then answer as they would have; left at 1, they block
 *     for good. They wait with the library's mutex released, so other threads and other GPUs go on, and
 *     re-check the scenario at most every 100 ms (or DROVER_FAKE_NVML_RELOAD_MS, at least 5 ms). The
 *     identity calls never block. Not part of NVML: `unsigned int fake_nvml_hung_calls(void)`, exported
 *     for tests, counts the calls blocked right now, so a test can wait until its caller is stuck.
 *   - nvmlDeviceGetUtilizationRates returns NVML_ERROR_NOT_SUPPORTED on a GPU with mig=1, as NVML does.
 *   - gpu.<i>.unsupported names calls that answer NVML_ERROR_NOT_SUPPORTED on that GPU, as one without the
 *     feature does: clocks (nvmlDeviceGetClockInfo), clock_event_reasons (both reasons calls), energy
 *     (nvmlDeviceGetTotalEnergyConsumption), pcie (nvmlDeviceGetPcieThroughput, nvmlDeviceGetPcieReplayCounter),
 *     encoder, decoder (nvmlDeviceGet{En,De}coderUtilization), ecc (nvmlDeviceGetTotalEccErrors),
 *     remapped_rows (nvmlDeviceGetRemappedRows), memory_temp (the NVML_FI_DEV_MEMORY_TEMP entry of
 *     nvmlDeviceGetFieldValues: that entry's nvmlReturn, the call itself succeeds). It applies after the state
 *     checks and the argument checks (a NULL pointer or an unknown clock type, PCIe counter, error or counter
 *     type is still NVML_ERROR_INVALID_ARGUMENT). An unknown name makes the line malformed.
 *   - nvmlDeviceGetFieldValues is a telemetry call: lost, state and hang apply to the whole call. valuesCount
 *     <= 0 or values NULL answers NVML_ERROR_INVALID_ARGUMENT; otherwise the call answers NVML_SUCCESS and
 *     each entry gets its own nvmlReturn. Every entry keeps its fieldId and scopeId and gets timestamp
 *     (CLOCK_REALTIME in microseconds since 1970) and latencyUsec 0. Only NVML_FI_DEV_MEMORY_TEMP (82) is
 *     known: valueType NVML_VALUE_TYPE_UNSIGNED_INT, value.uiVal = gpu.<i>.memory_temp with the union's other
 *     bytes zeroed (or, when unsupported names memory_temp, the entry's nvmlReturn is NVML_ERROR_NOT_SUPPORTED).
 *     Any other fieldId: that entry's nvmlReturn is NVML_ERROR_NOT_SUPPORTED and its valueType and value are
 *     left as given.
 *   - Clock event reasons: nvmlDeviceGetCurrentClocksThrottleReasons (the older name) is always exported;
 *     nvmlDeviceGetCurrentClocksEventReasons (R535 and later) can be hidden with its export.* key. Both
 *     answer gpu.<i>.clock_event_reasons.
 *   - Every telemetry call writes its outputs only on NVML_SUCCESS.
 *   - Events: only XidCriticalError events are ever produced. When a re-parse finds gpu.<i>.xid changed to a
 *     nonzero value (and the GPU is not lost), one event (eventData = the value, GPU/compute instance ids
 *     0xFFFFFFFF) is queued on every event set registered for XidCriticalError on that GPU at that moment.
 *     Each set queues up to 64 events; later ones are dropped until the set is drained.
 *   - nvmlEventSetWait_v2 returns queued events first. When none is queued and a GPU registered in the set is
 *     lost (state=lost, or its index is no longer below gpu.count), it returns NVML_ERROR_GPU_IS_LOST at once,
 *     on every call while that lasts (the caller is expected to re-enumerate and build a new set). Otherwise it
 *     waits up to timeoutms (re-checking the scenario meanwhile) and returns NVML_ERROR_TIMEOUT when nothing
 *     came. The data buffer is written only on NVML_SUCCESS.
 *   - nvmlDeviceRegisterEvents with a type outside supported_events returns NVML_ERROR_NOT_SUPPORTED and
 *     leaves the set usable.
 *   - Exports: a real library that lacks a symbol is told apart by dlsym returning NULL, never by a call
 *     failing, and clients (nvitop, the agent) detect the 535.43-535.86 record size from which symbols
 *     exist, and pick nvmlDeviceGetCurrentClocksEventReasons or the older ...ThrottleReasons the same way.
 *     So the export.* keys hide a symbol from dlsym itself: each of those symbols is a GNU indirect
 *     function (STT_GNU_IFUNC) whose resolver, run by the dynamic loader at every dlsym of that name, reads
 *     the scenario (the variable and the file, as nvmlInit_v2 does) and returns the function, or NULL when
 *     the key is 0, which dlsym hands back as "not exported". A real library's exports never change; these
 *     follow the scenario at each lookup, so a client that probes them after every nvmlInit_v2 (as the
 *     agent's binding does) sees the driver generation the scenario names. Nothing inside this library
 *     refers to those symbols, so no resolver runs while the library is being relocated. Needs glibc.
 *     Unlike a real missing symbol, such a lookup leaves dlerror() NULL: a caller that formats dlerror's
 *     text without checking it (Python's ctypes does, and crashes) cannot probe these; the agent checks
 *     only the address, as NativeLibrary.TryGetExport does.
 *   - nvmlDeviceGetConfComputeMemSizeInfo and nvmlDeviceGetRunningProcessDetailList exist only to be
 *     present or absent; they answer NVML_ERROR_NOT_SUPPORTED (a GPU without confidential computing).
 *
 * GPM (GPU Performance Monitoring; the six nvmlGpm* calls, each hideable with its export.* key)
 *   - Samples: nvmlGpmSampleAlloc allocates one (it needs no device); nvmlGpmSampleFree frees it. The library
 *     keeps a registry of live samples, so a freed, unknown or never-allocated handle is detected: every call
 *     given one answers NVML_ERROR_INVALID_ARGUMENT. A NULL output pointer is NVML_ERROR_INVALID_ARGUMENT. All
 *     six answer NVML_ERROR_UNINITIALIZED while the init count is 0. Choice: samples survive nvmlShutdown (they
 *     stay valid handles until freed, across a later nvmlInit_v2); nvmlGpmSampleFree frees a live sample even
 *     while uninitialized, as nvmlEventSetFree does, and then answers NVML_ERROR_UNINITIALIZED.
 *   - nvmlGpmQueryDeviceSupport: a telemetry call; NULL is NVML_ERROR_INVALID_ARGUMENT, a version other than
 *     NVML_GPM_SUPPORT_VERSION (1) is NVML_ERROR_ARGUMENT_VERSION_MISMATCH, else isSupportedDevice = gpu.<i>.gpm.
 *   - nvmlGpmSampleGet(device, sample): a telemetry call; an unknown sample is NVML_ERROR_INVALID_ARGUMENT, then
 *     gpm=0 answers NVML_ERROR_NOT_SUPPORTED. It records into the sample the GPU, no GPU instance, a sequence
 *     number (one counter for the whole library, incremented per sample taken, so "later" is well defined)
 *     and gpu.<i>.gpm_graphics/gpm_sm/gpm_occupancy as they are now.
 *   - nvmlGpmMigSampleGet(device, gpuInstanceId, sample): a telemetry call on a GPU's handle. A MIG handle
 *     (which gets only the identity checks, so it never blocks), an unknown sample or a GPU with mig=0 is
 *     NVML_ERROR_INVALID_ARGUMENT; then gpm=0 answers NVML_ERROR_NOT_SUPPORTED; then a gpuInstanceId that is
 *     not the gi of a current MIG slot (m below mig.count) is NVML_ERROR_NOT_FOUND. Choice: when several
 *     slots share that gi (compute instances of one GPU instance), the lowest slot's gpu.<i>.mig.<m>.gpm_*
 *     values are recorded, with the GPU, the gi and a sequence number.
 *   - nvmlGpmMetricsGet: NULL is NVML_ERROR_INVALID_ARGUMENT; a version other than NVML_GPM_METRICS_GET_VERSION
 *     (1) is NVML_ERROR_ARGUMENT_VERSION_MISMATCH; numMetrics 0 or above NVML_GPM_METRIC_MAX (333), an unknown
 *     sample, a sample never filled by a sample call, samples of different GPUs or GPU instances, or sample2
 *     not taken after sample1 (the same sample twice included) is NVML_ERROR_INVALID_ARGUMENT. It reads and
 *     writes only metrics[0..numMetrics-1] (callers built against older headers pass a shorter array). It
 *     consults only the samples, never the GPU: no state, lost or hang check. Each GRAPHICS_UTIL (1), SM_UTIL
 *     (2) and SM_OCCUPANCY (3) entry gets nvmlReturn NVML_SUCCESS, a value and metricInfo pointing to static
 *     names and the unit "%"; any other metricId gets NVML_ERROR_NOT_SUPPORTED, its value untouched and
 *     metricInfo NULLs. Choice: real GPM computes rates from the counters between the two samples; the
 *     stand-in reports the value configured when sample2 was taken (sample1 only has to be earlier).
 *   - Choice: on a MIG handle nvmlGpmQueryDeviceSupport and nvmlGpmSampleGet answer NVML_ERROR_NOT_SUPPORTED
 *     after the MIG handle's checks (as the other telemetry calls do; real NVML accepts MIG handles there):
 *     a MIG device's GPM is sampled through its GPU with nvmlGpmMigSampleGet.
 *
 * MIG devices (Multi-Instance GPU; the choices where NVML gives no model to follow are marked "Choice")
 *   - nvmlDeviceGetMaxMigDeviceCount answers 7 on a GPU with mig=1 and 0 otherwise (NVML: "zero if MIG is
 *     not supported or enabled"); it is a telemetry call (state and hang apply). On a MIG handle it answers
 *     NVML_ERROR_INVALID_ARGUMENT.
 *   - nvmlDeviceGetMigDeviceHandleByIndex(parent, m): NVML_ERROR_INVALID_ARGUMENT unless the handle is a
 *     GPU's with mig=1 and m < 7; NVML_ERROR_NOT_FOUND when m >= gpu.<i>.mig.count. nvmlDeviceIsMigDeviceHandle,
 *     nvmlDeviceGetDeviceHandleFromMigDeviceHandle (NVML_ERROR_INVALID_ARGUMENT for a GPU's handle),
 *     nvmlDeviceGetGpuInstanceId and nvmlDeviceGetComputeInstanceId (NVML_ERROR_NOT_SUPPORTED for a GPU's
 *     handle) are identity calls, as are the three above except nvmlDeviceGetMaxMigDeviceCount.
 *   - MIG handles point into a second static table, one slot per (GPU, m); they stay valid for the life
 *     of the process. Choice: a MIG handle whose GPU no longer has mig=1, or whose m is no longer below
 *     gpu.<i>.mig.count (a MIG reconfiguration), is stale: every call on it answers NVML_ERROR_NOT_FOUND, as
 *     real MIG handles "must be requested again" after their GPU or compute instance is destroyed. It works
 *     again once the slot exists again (the scenario models the slot, not one instance's lifetime).
 *   - The parent GPU's lost/state/hang apply to its MIG handles: a lost parent answers NVML_ERROR_GPU_IS_LOST
 *     to every call on them (checked before staleness); its state answers the MIG telemetry calls (memory,
 *     processes) as it answers its own; hang=1 blocks them. Identity calls on a MIG handle never block.
 *   - On a MIG handle: nvmlDeviceGetUUID gives the MIG device's uuid; nvmlDeviceGetName gives
 *     "<GPU name> MIG <profile>", cut to 95 characters so it always fits NVML_DEVICE_NAME_V2_BUFFER_SIZE
 *     (Choice); nvmlDeviceGetPciInfo_v3 gives the parent's PCI info; nvmlDeviceGetMemoryInfo and _v2 give
 *     the MIG device's own memory; the process lists give the MIG device's own processes with their
 *     gpuInstanceId/computeInstanceId set to its gi/ci. Every other call (utilization, MIG mode,
 *     temperature, power, clocks, both clock event reasons calls, energy, PCIe, encoder/decoder, ECC,
 *     remapped rows, the conf-compute and process-detail calls, supported event types, event registration,
 *     field values, nvmlGpmQueryDeviceSupport, nvmlGpmSampleGet; nvmlGpmMigSampleGet answers
 *     NVML_ERROR_INVALID_ARGUMENT instead, see "GPM")
 *     answers NVML_ERROR_NOT_SUPPORTED after the parent's lost/stale/hang/state checks and before its own
 *     argument checks (Choice: NVML registers events per GPU, not per MIG handle).
 *   - On a GPU with mig=1 the process lists give the GPU's own gpu.<i>.processes (instance ids 0xFFFFFFFF)
 *     followed by every current MIG device's processes with their gi/ci, slot by slot: the privileged
 *     aggregate view. The buffer-size protocol counts them all.
 *   - gpu.<i>.mig.<m>.xid: when a re-parse finds the value changed to nonzero (compared with the previous
 *     parse's value for the same slot, as gpu.<i>.xid is), and the GPU is not lost, has mig=1 and m is below
 *     mig.count, one XidCriticalError event is queued on every event set registered for XidCriticalError on
 *     the GPU, with device = the GPU's handle, eventData = the value, gpuInstanceId/computeInstanceId = the
 *     MIG device's gi/ci, as NVML reports an XID inside a MIG device.
 */

#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FAKE_API __attribute__((visibility("default")))

/* ---- NVML ABI (values and layouts per nvml.h) ---------------------------------------------------- */

typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_VGPU_ECC_NOT_ENABLED = 22,
    NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
    NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_DEPRECATED = 26,
    NVML_ERROR_NOT_READY = 27,
    NVML_ERROR_GPU_NOT_FOUND = 28,
    NVML_ERROR_INVALID_STATE = 29,
    NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

typedef enum nvmlTemperatureSensors_enum {
    NVML_TEMPERATURE_GPU = 0
} nvmlTemperatureSensors_t;

typedef enum nvmlClockType_enum {
    NVML_CLOCK_GRAPHICS = 0,
    NVML_CLOCK_SM = 1,
    NVML_CLOCK_MEM = 2,
    NVML_CLOCK_VIDEO = 3
} nvmlClockType_t;

typedef enum nvmlPcieUtilCounter_enum {
    NVML_PCIE_UTIL_TX_BYTES = 0,
    NVML_PCIE_UTIL_RX_BYTES = 1
} nvmlPcieUtilCounter_t;

typedef enum nvmlMemoryErrorType_enum {
    NVML_MEMORY_ERROR_TYPE_CORRECTED = 0,
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
} nvmlMemoryErrorType_t;

typedef enum nvmlEccCounterType_enum {
    NVML_VOLATILE_ECC = 0,
    NVML_AGGREGATE_ECC = 1
} nvmlEccCounterType_t;

typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlEventSet_st *nvmlEventSet_t;

typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

#define NVML_STRUCT_VERSION(data, ver) (unsigned int)(sizeof(nvml##data##_v##ver##_t) | ((ver) << 24U))
#define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2)

typedef struct nvmlUtilization_st {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct nvmlProcessInfo_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

/* What nvmlDeviceGetComputeRunningProcesses_v3 writes on R535.43 to 535.86, without a version change. */
typedef struct nvmlProcessInfoCc_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
    unsigned long long usedGpuCcProtectedMemory;
} nvmlProcessInfoCc_t;

typedef struct nvmlConfComputeMemSizeInfo_st {
    unsigned long long protectedMemSizeKib;
    unsigned long long unprotectedMemSizeKib;
} nvmlConfComputeMemSizeInfo_t;

typedef struct nvmlProcessDetailList_st nvmlProcessDetailList_t;

typedef struct nvmlEventData_st {
    nvmlDevice_t device;
    unsigned long long eventType;
    unsigned long long eventData;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlEventData_t;

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32

typedef struct nvmlPciInfo_st {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef enum nvmlValueType_enum {
    NVML_VALUE_TYPE_DOUBLE = 0,
    NVML_VALUE_TYPE_UNSIGNED_INT = 1,
    NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
    NVML_VALUE_TYPE_SIGNED_INT = 5,
    NVML_VALUE_TYPE_UNSIGNED_SHORT = 6,
    NVML_VALUE_TYPE_COUNT
} nvmlValueType_t;

typedef union nvmlValue_st {
    double dVal;
    int siVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    unsigned short usVal;
} nvmlValue_t;

typedef struct nvmlFieldValue_st {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;
    long long latencyUsec;
    nvmlValueType_t valueType;
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

#define NVML_FI_DEV_MEMORY_TEMP 82

/* GPM (GPU Performance Monitoring). The sample handle wraps a pointer to this library's struct nvmlGpmSample_st. */
typedef enum {
    NVML_GPM_METRIC_GRAPHICS_UTIL = 1,
    NVML_GPM_METRIC_SM_UTIL = 2,
    NVML_GPM_METRIC_SM_OCCUPANCY = 3,
    NVML_GPM_METRIC_MAX = 333
} nvmlGpmMetricId_t;

typedef struct {
    struct nvmlGpmSample_st *handle;
} nvmlGpmSample_t;

typedef struct {
    char *shortName;
    char *longName;
    char *unit;
} nvmlGpmMetricMetricInfo_t;

typedef struct {
    unsigned int metricId;
    nvmlReturn_t nvmlReturn;
    double value;
    nvmlGpmMetricMetricInfo_t metricInfo;
} nvmlGpmMetric_t;

typedef struct {
    unsigned int version;
    unsigned int numMetrics;
    nvmlGpmSample_t sample1;
    nvmlGpmSample_t sample2;
    nvmlGpmMetric_t metrics[NVML_GPM_METRIC_MAX];
} nvmlGpmMetricsGet_t;

#define NVML_GPM_METRICS_GET_VERSION 1

typedef struct {
    unsigned int version;
    unsigned int isSupportedDevice;
} nvmlGpmSupport_t;

#define NVML_GPM_SUPPORT_VERSION 1

#define nvmlEventTypeSingleBitEccError 0x0000000000000001ULL
#define nvmlEventTypeDoubleBitEccError 0x0000000000000002ULL
#define nvmlEventTypePState 0x0000000000000004ULL
#define nvmlEventTypeXidCriticalError 0x0000000000000008ULL

#define NVML_DEVICE_MIG_DISABLE 0U
#define NVML_DEVICE_MIG_ENABLE 1U
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_NO_INSTANCE_ID 0xFFFFFFFFU
#define SAMPLING_PERIOD_US 1000000U

_Static_assert(sizeof(nvmlClockType_t) == 4 && sizeof(nvmlPcieUtilCounter_t) == 4, "NVML enums are C ints");
_Static_assert(sizeof(nvmlMemoryErrorType_t) == 4 && sizeof(nvmlEccCounterType_t) == 4, "NVML enums are C ints");
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t is 24 bytes");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t is 40 bytes");
_Static_assert(nvmlMemory_v2 == 0x02000028U, "nvmlMemory_v2 is 0x02000028");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t is 8 bytes");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t is 24 bytes");
_Static_assert(sizeof(nvmlProcessInfoCc_t) == 32, "the R535.43-535.86 process record is 32 bytes");
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t is 68 bytes");
_Static_assert(sizeof(void *) != 8 || sizeof(nvmlEventData_t) == 32, "nvmlEventData_t is 32 bytes on LP64");
_Static_assert(sizeof(nvmlValueType_t) == 4 && sizeof(nvmlValue_t) == 8, "nvmlValue_t is 8 bytes");
_Static_assert(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t is 40 bytes");
_Static_assert(offsetof(nvmlFieldValue_t, timestamp) == 8 && offsetof(nvmlFieldValue_t, valueType) == 24 &&
                   offsetof(nvmlFieldValue_t, value) == 32,
               "nvmlFieldValue_t field offsets");
_Static_assert(sizeof(nvmlGpmSample_t) == sizeof(void *), "nvmlGpmSample_t is one pointer");
_Static_assert(sizeof(void *) != 8 || sizeof(nvmlGpmMetric_t) == 40, "nvmlGpmMetric_t is 40 bytes on LP64");
_Static_assert(sizeof(void *) != 8 || sizeof(nvmlGpmMetricsGet_t) == 24 + NVML_GPM_METRIC_MAX * 40,
               "nvmlGpmMetricsGet_t is 24 + 333 * 40 bytes on LP64");
_Static_assert(sizeof(void *) != 8 || offsetof(nvmlGpmMetricsGet_t, metrics) == 24, "metrics start at offset 24");
_Static_assert(sizeof(nvmlGpmSupport_t) == 8, "nvmlGpmSupport_t is 8 bytes");

/* ---- Scenario model ---------------------------------------------------------------------------- */

#define MAX_GPUS 64
#define MAX_PROCESSES 128
#define MAX_MIG_DEVICES 7
#define MAX_MIG_PROCESSES 32
#define MIG_PROFILE_CAPACITY 32
#define MAX_QUEUED_EVENTS 64
#define DEFAULT_RELOAD_MS 100
#define SCENARIO_ENV "DROVER_FAKE_NVML_SCENARIO"
#define RELOAD_ENV "DROVER_FAKE_NVML_RELOAD_MS"
#define PATH_CAPACITY 4096

enum gpu_state {
    STATE_OK = 0,
    STATE_LOST,
    STATE_NOT_SUPPORTED,
    STATE_NO_PERMISSION,
    STATE_RESET_REQUIRED,
    STATE_UNKNOWN,
    STATE_NOT_READY
};

/* The calls gpu.<i>.unsupported can turn off; bit i of gpu_config.unsupported is g_unsupported_names[i]. */
enum unsupported_call {
    UNSUPPORTED_CLOCKS = 0,
    UNSUPPORTED_CLOCK_EVENT_REASONS,
    UNSUPPORTED_ENERGY,
    UNSUPPORTED_PCIE,
    UNSUPPORTED_ENCODER,
    UNSUPPORTED_DECODER,
    UNSUPPORTED_ECC,
    UNSUPPORTED_REMAPPED_ROWS,
    UNSUPPORTED_MEMORY_TEMP,
    UNSUPPORTED_CALL_COUNT
};

static const char *const g_unsupported_names[UNSUPPORTED_CALL_COUNT] = {
    "clocks", "clock_event_reasons", "energy", "pcie", "encoder", "decoder", "ecc", "remapped_rows", "memory_temp",
};

struct process_entry {
    unsigned int pid;
    unsigned long long used;
};

/* One MIG device slot, gpu.<i>.mig.<m>.*; it exists while the GPU has mig=1 and m < mig_count. */
struct mig_config {
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    char profile[MIG_PROFILE_CAPACITY];
    unsigned int gi, ci;
    unsigned long long memory_total, memory_used, memory_reserved;
    unsigned long long xid;
    unsigned int gpm_graphics, gpm_sm, gpm_occupancy;
    unsigned int process_count;
    struct process_entry processes[MAX_MIG_PROCESSES];
};

struct gpu_config {
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    char pci_bus_id[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    unsigned int pci_domain, pci_bus, pci_device, pci_function;
    unsigned long long memory_total, memory_used, memory_reserved;
    unsigned int util_gpu, util_memory, temperature, power_mw, mig;
    enum gpu_state state;
    unsigned int hang;
    unsigned long long xid;
    unsigned long long supported_events;
    unsigned int clock_sm, clock_mem, clock_video;
    unsigned long long clock_event_reasons, energy_mj;
    unsigned int pcie_tx_kbps, pcie_rx_kbps, pcie_replays;
    unsigned int util_encoder, util_decoder;
    unsigned long long ecc_corrected, ecc_uncorrected;
    unsigned int remapped_corrected, remapped_uncorrected, remap_pending, remap_failure;
    unsigned int memory_temp;
    unsigned int gpm, gpm_graphics, gpm_sm, gpm_occupancy;
    unsigned int unsupported;
    unsigned int process_count;
    struct process_entry processes[MAX_PROCESSES];
    unsigned int mig_count;
    struct mig_config migs[MAX_MIG_DEVICES];
};

/* The symbols a scenario can hide (see "Exports"); bit i of scenario.hidden hides g_hideable[i]. */
enum hideable_symbol {
    SYMBOL_PROCESSES_V3 = 0,
    SYMBOL_PROCESSES_V2,
    SYMBOL_CONF_COMPUTE_MEM_SIZE_INFO,
    SYMBOL_RUNNING_PROCESS_DETAIL_LIST,
    SYMBOL_CLOCKS_EVENT_REASONS,
    SYMBOL_GPM_SAMPLE_ALLOC,
    SYMBOL_GPM_SAMPLE_FREE,
    SYMBOL_GPM_SAMPLE_GET,
    SYMBOL_GPM_MIG_SAMPLE_GET,
    SYMBOL_GPM_METRICS_GET,
    SYMBOL_GPM_QUERY_DEVICE_SUPPORT,
    HIDEABLE_SYMBOL_COUNT
};

_Static_assert(HIDEABLE_SYMBOL_COUNT <= 32, "scenario.hidden is a 32-bit mask");

static const char *const g_hideable[HIDEABLE_SYMBOL_COUNT] = {
    "nvmlDeviceGetComputeRunningProcesses_v3",
    "nvmlDeviceGetComputeRunningProcesses_v2",
    "nvmlDeviceGetConfComputeMemSizeInfo",
    "nvmlDeviceGetRunningProcessDetailList",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlGpmSampleAlloc",
    "nvmlGpmSampleFree",
    "nvmlGpmSampleGet",
    "nvmlGpmMigSampleGet",
    "nvmlGpmMetricsGet",
    "nvmlGpmQueryDeviceSupport",
};

struct scenario {
    char driver_version[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    nvmlReturn_t init_result;
    unsigned int driver_epoch;
    unsigned int hidden;
    unsigned int process_record_bytes;
    unsigned int gpu_count;
    struct gpu_config gpus[MAX_GPUS];
};

struct file_identity {
    int present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* A GPU's handle (in g_devices) or a MIG device's (in g_mig_devices); index is the GPU's in both. */
struct nvmlDevice_st {
    unsigned int index;
    unsigned int is_mig;
    unsigned int slot;     /* the MIG slot m when is_mig */
};

struct queued_event {
    unsigned int gpu;
    unsigned long long type;
    unsigned long long data;
    unsigned int gpu_instance, compute_instance;
};

/* A GPM sample (see "GPM"): what nvmlGpmSampleGet or nvmlGpmMigSampleGet recorded into it, if anything. */
struct nvmlGpmSample_st {
    struct nvmlGpmSample_st *next;
    unsigned long long sequence;   /* 0: never taken; else the value of g_gpm_sequence when taken */
    unsigned int gpu;
    unsigned int gpu_instance;     /* NVML_NO_INSTANCE_ID for a whole-GPU sample */
    unsigned int graphics, sm, occupancy;
};

struct nvmlEventSet_st {
    struct nvmlEventSet_st *next;
    unsigned long long masks[MAX_GPUS];
    struct queued_event queue[MAX_QUEUED_EVENTS];
    unsigned int head;
    unsigned int count;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_changed;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static struct scenario g_buffers[2];
static struct scenario *g_current = &g_buffers[0];
static struct scenario *g_next = &g_buffers[1];
static struct nvmlDevice_st g_devices[MAX_GPUS];
static struct nvmlDevice_st g_mig_devices[MAX_GPUS][MAX_MIG_DEVICES];
static struct nvmlEventSet_st *g_event_sets;
static struct nvmlGpmSample_st *g_gpm_samples;
static unsigned long long g_gpm_sequence;

static unsigned int g_init_count;
static unsigned int g_init_epoch;
static char g_path[PATH_CAPACITY];
static struct file_identity g_identity;
static long long g_reload_ms = DEFAULT_RELOAD_MS;
static long long g_last_check_ms = LLONG_MIN / 2;

/* ---- Helpers ------------------------------------------------------------------------------------ */

static void set_default_scenario(struct scenario *scenario);

static void initialize_once(void)
{
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&g_changed, &attributes);
    pthread_condattr_destroy(&attributes);
    for (unsigned int i = 0; i < MAX_GPUS; i++) {
        g_devices[i].index = i;
        for (unsigned int m = 0; m < MAX_MIG_DEVICES; m++) {
            g_mig_devices[i][m].index = i;
            g_mig_devices[i][m].is_mig = 1;
            g_mig_devices[i][m].slot = m;
        }
    }
    set_default_scenario(g_current);
}

static void lock(void)
{
    pthread_once(&g_once, initialize_once);
    pthread_mutex_lock(&g_lock);
}

static void unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

static long long monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000LL + now.tv_nsec / 1000000L;
}

static void copy_string(char *destination, size_t capacity, const char *source)
{
    size_t length = strlen(source);
    if (length >= capacity) {
        length = capacity - 1;
    }
    memcpy(destination, source, length);
    destination[length] = '\0';
}

static void set_default_gpu(struct gpu_config *gpu, unsigned int index)
{
    memset(gpu, 0, sizeof(*gpu));
    copy_string(gpu->name, sizeof(gpu->name), "NVIDIA H100 80GB HBM3");
    snprintf(gpu->uuid, sizeof(gpu->uuid), "GPU-fa4e0000-0000-4000-8000-%012x", index);
    gpu->pci_domain = 0;
    gpu->pci_bus = 0x18 + index;
    gpu->pci_device = 0;
    gpu->pci_function = 0;
    snprintf(gpu->pci_bus_id, sizeof(gpu->pci_bus_id), "%08X:%02X:%02X.%X", gpu->pci_domain, gpu->pci_bus,
             gpu->pci_device, gpu->pci_function);
    gpu->memory_total = 85899345920ULL;
    gpu->temperature = 30;
    gpu->power_mw = 70000;
    gpu->state = STATE_OK;
    gpu->supported_events = nvmlEventTypeSingleBitEccError | nvmlEventTypeDoubleBitEccError | nvmlEventTypePState |
                            nvmlEventTypeXidCriticalError;
    gpu->clock_sm = 1980;
    gpu->clock_mem = 2619;
    gpu->clock_video = 1755;
    gpu->memory_temp = 38;
    for (unsigned int m = 0; m < MAX_MIG_DEVICES; m++) {
        struct mig_config *mig = &gpu->migs[m];
        snprintf(mig->uuid, sizeof(mig->uuid), "MIG-fa4e0000-0000-4000-9000-%06x%06x", index, m);
        copy_string(mig->profile, sizeof(mig->profile), "1g.10gb");
        mig->gi = m + 1;
        mig->memory_total = 10737418240ULL;
    }
}

static void set_default_scenario(struct scenario *scenario)
{
    copy_string(scenario->driver_version, sizeof(scenario->driver_version), "550.54.15");
    scenario->init_result = NVML_SUCCESS;
    scenario->driver_epoch = 0;
    scenario->hidden = 0;
    scenario->process_record_bytes = sizeof(nvmlProcessInfo_t);
    scenario->gpu_count = 0;
    for (unsigned int i = 0; i < MAX_GPUS; i++) {
        set_default_gpu(&scenario->gpus[i], i);
    }
}

static char *trim(char *text)
{
    while (*text != '\0' && isspace((unsigned char)*text)) {
        text++;
    }
    size_t length = strlen(text);
    while (length > 0 && isspace((unsigned char)text[length - 1])) {
        text[--length] = '\0';
    }
    return text;
}

/* Parses a whole unsigned decimal or 0x-hex number; no sign, no trailing characters. */
static int parse_u64(const char *text, unsigned long long *value)
{
    if (*text == '\0' || !isdigit((unsigned char)*text)) {
        return 0;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long parsed = strtoull(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0') {
        return 0;
    }
    *value = parsed;
    return 1;
}

static int parse_u32(const char *text, unsigned int *value, unsigned long long max)
{
    unsigned long long parsed;
    if (!parse_u64(text, &parsed) || parsed > max) {
        return 0;
    }
    *value = (unsigned int)parsed;
    return 1;
}

static int parse_pci_bus_id(const char *text, struct gpu_config *gpu)
{
    unsigned int domain, bus, device, function;
    int consumed = 0;
    if (strlen(text) >= sizeof(gpu->pci_bus_id) ||
        sscanf(text, "%8x:%2x:%2x.%1x%n", &domain, &bus, &device, &function, &consumed) != 4 ||
        text[consumed] != '\0' || device > 0x1F || function > 7) {
        return 0;
    }
    gpu->pci_domain = domain;
    gpu->pci_bus = bus;
    gpu->pci_device = device;
    gpu->pci_function = function;
    snprintf(gpu->pci_bus_id, sizeof(gpu->pci_bus_id), "%08X:%02X:%02X.%X", domain, bus, device, function);
    return 1;
}

/*
 * pid:bytes,pid:bytes (may be empty) into destination (capacity max, MAX_PROCESSES or MAX_MIG_PROCESSES) and
 * *count. Fills a temporary list first so a bad entry changes nothing.
 */
static const char *parse_processes(char *text, struct process_entry *destination, unsigned int *destination_count,
                                   unsigned int max)
{
    static struct process_entry parsed[MAX_PROCESSES];
    unsigned int count = 0;
    char *cursor = text;
    if (*trim(text) == '\0') {
        *destination_count = 0;
        return NULL;
    }
    for (;;) {
        char *comma = strchr(cursor, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        char *entry = trim(cursor);
        char *colon = strchr(entry, ':');
        if (colon == NULL) {
            return "a process entry is not pid:usedGpuMemory";
        }
        *colon = '\0';
        unsigned int pid;
        unsigned long long used;
        if (!parse_u32(trim(entry), &pid, UINT_MAX) || !parse_u64(trim(colon + 1), &used)) {
            return "a process entry has a bad pid or memory value";
        }
        if (count == max || count == MAX_PROCESSES) {
            return max == MAX_MIG_PROCESSES ? "more than 32 processes on a MIG device" : "more than 128 processes";
        }
        parsed[count].pid = pid;
        parsed[count].used = used;
        count++;
        if (comma == NULL) {
            break;
        }
        cursor = comma + 1;
    }
    memcpy(destination, parsed, sizeof(parsed[0]) * count);
    *destination_count = count;
    return NULL;
}

/* name,name,... (may be empty) from g_unsupported_names. Builds the mask first so a bad name changes nothing. */
static const char *parse_unsupported(char *text, struct gpu_config *gpu)
{
    unsigned int mask = 0;
    char *cursor = text;
    if (*trim(text) == '\0') {
        gpu->unsupported = 0;
        return NULL;
    }
    for (;;) {
        char *comma = strchr(cursor, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        char *name = trim(cursor);
        unsigned int i = 0;
        while (i < UNSUPPORTED_CALL_COUNT && strcmp(name, g_unsupported_names[i]) != 0) {
            i++;
        }
        if (i == UNSUPPORTED_CALL_COUNT) {
            return "unsupported must list clocks, clock_event_reasons, energy, pcie, encoder, decoder, ecc, "
                   "remapped_rows or memory_temp";
        }
        mask |= 1U << i;
        if (comma == NULL) {
            break;
        }
        cursor = comma + 1;
    }
    gpu->unsupported = mask;
    return NULL;
}

/* Applies one gpu.<i>.<field> value. Returns NULL when accepted (or ignored), else the reason. */
/* The operators' counters: scenario keys read as plain numbers into struct gpu_config. */
struct counter_key {
    const char *name;
    size_t offset;
    int wide;              /* 1: unsigned long long; 0: unsigned int, at most max */
    unsigned long long max;
    const char *error;
};

#define COUNTER32(field, max, error) { #field, offsetof(struct gpu_config, field), 0, max, error }
#define COUNTER64(field, error) { #field, offsetof(struct gpu_config, field), 1, 0, error }

static const struct counter_key g_counter_keys[] = {
    COUNTER32(clock_sm, UINT_MAX, "clock_sm must be an unsigned 32-bit number"),
    COUNTER32(clock_mem, UINT_MAX, "clock_mem must be an unsigned 32-bit number"),
    COUNTER32(clock_video, UINT_MAX, "clock_video must be an unsigned 32-bit number"),
    COUNTER64(clock_event_reasons, "clock_event_reasons must be a reason mask"),
    COUNTER64(energy_mj, "energy_mj must be an unsigned 64-bit number"),
    COUNTER32(pcie_tx_kbps, UINT_MAX, "pcie_tx_kbps must be an unsigned 32-bit number"),
    COUNTER32(pcie_rx_kbps, UINT_MAX, "pcie_rx_kbps must be an unsigned 32-bit number"),
    COUNTER32(pcie_replays, UINT_MAX, "pcie_replays must be an unsigned 32-bit number"),
    COUNTER32(util_encoder, 100, "util_encoder must be 0 to 100"),
    COUNTER32(util_decoder, 100, "util_decoder must be 0 to 100"),
    COUNTER64(ecc_corrected, "ecc_corrected must be an unsigned 64-bit number"),
    COUNTER64(ecc_uncorrected, "ecc_uncorrected must be an unsigned 64-bit number"),
    COUNTER32(remapped_corrected, UINT_MAX, "remapped_corrected must be an unsigned 32-bit number"),
    COUNTER32(remapped_uncorrected, UINT_MAX, "remapped_uncorrected must be an unsigned 32-bit number"),
    COUNTER32(remap_pending, 1, "remap_pending must be 0 or 1"),
    COUNTER32(remap_failure, 1, "remap_failure must be 0 or 1"),
    COUNTER32(memory_temp, 1000, "memory_temp must be 0 to 1000"),
    COUNTER32(gpm, 1, "gpm must be 0 or 1"),
    COUNTER32(gpm_graphics, 100, "gpm_graphics must be 0 to 100"),
    COUNTER32(gpm_sm, 100, "gpm_sm must be 0 to 100"),
    COUNTER32(gpm_occupancy, 100, "gpm_occupancy must be 0 to 100"),
};

/* Applies one counter key; any other field (command_queue, ...) is ignored. */
static const char *apply_counter(struct gpu_config *gpu, const char *field, const char *value)
{
    for (size_t i = 0; i < sizeof(g_counter_keys) / sizeof(g_counter_keys[0]); i++) {
        const struct counter_key *key = &g_counter_keys[i];
        if (strcmp(field, key->name) != 0) {
            continue;
        }
        char *target = (char *)gpu + key->offset;
        int parsed = key->wide ? parse_u64(value, (unsigned long long *)(void *)target)
                               : parse_u32(value, (unsigned int *)(void *)target, key->max);
        return parsed ? NULL : key->error;
    }
    return NULL;
}

/* Applies one gpu.<i>.mig.<rest> value (rest is count or <m>.<field>). Unknown fields are ignored. */
static const char *apply_mig_key(struct gpu_config *gpu, const char *rest, char *value)
{
    if (strcmp(rest, "count") == 0) {
        if (!parse_u32(value, &gpu->mig_count, MAX_MIG_DEVICES)) {
            return "mig.count must be 0 to 7";
        }
        return NULL;
    }
    if (!isdigit((unsigned char)*rest)) {
        return NULL; /* an unknown gpu.<i>.mig.<field>, ignored as gpu.<field> is */
    }
    char *end = NULL;
    errno = 0;
    unsigned long slot = strtoul(rest, &end, 10);
    if (errno != 0 || *end != '.' || end[1] == '\0') {
        return "MIG keys look like gpu.<index>.mig.count or gpu.<index>.mig.<m>.<field>";
    }
    if (slot >= MAX_MIG_DEVICES) {
        return "the MIG device index must be below 7";
    }
    struct mig_config *mig = &gpu->migs[slot];
    const char *field = end + 1;
    if (strcmp(field, "uuid") == 0) {
        if (*value == '\0' || strlen(value) >= sizeof(mig->uuid)) {
            return "mig uuid must be 1 to 95 characters";
        }
        copy_string(mig->uuid, sizeof(mig->uuid), value);
    } else if (strcmp(field, "profile") == 0) {
        if (*value == '\0' || strlen(value) >= sizeof(mig->profile)) {
            return "mig profile must be 1 to 31 characters";
        }
        copy_string(mig->profile, sizeof(mig->profile), value);
    } else if (strcmp(field, "gi") == 0) {
        if (!parse_u32(value, &mig->gi, UINT_MAX)) {
            return "mig gi must be an unsigned 32-bit number";
        }
    } else if (strcmp(field, "ci") == 0) {
        if (!parse_u32(value, &mig->ci, UINT_MAX)) {
            return "mig ci must be an unsigned 32-bit number";
        }
    } else if (strcmp(field, "memory_total") == 0) {
        if (!parse_u64(value, &mig->memory_total)) {
            return "mig memory_total must be a byte count";
        }
    } else if (strcmp(field, "memory_used") == 0) {
        if (!parse_u64(value, &mig->memory_used)) {
            return "mig memory_used must be a byte count";
        }
    } else if (strcmp(field, "memory_reserved") == 0) {
        if (!parse_u64(value, &mig->memory_reserved)) {
            return "mig memory_reserved must be a byte count";
        }
    } else if (strcmp(field, "processes") == 0) {
        return parse_processes(value, mig->processes, &mig->process_count, MAX_MIG_PROCESSES);
    } else if (strcmp(field, "xid") == 0) {
        if (!parse_u64(value, &mig->xid)) {
            return "mig xid must be an unsigned number";
        }
    } else if (strcmp(field, "gpm_graphics") == 0) {
        if (!parse_u32(value, &mig->gpm_graphics, 100)) {
            return "mig gpm_graphics must be 0 to 100";
        }
    } else if (strcmp(field, "gpm_sm") == 0) {
        if (!parse_u32(value, &mig->gpm_sm, 100)) {
            return "mig gpm_sm must be 0 to 100";
        }
    } else if (strcmp(field, "gpm_occupancy") == 0) {
        if (!parse_u32(value, &mig->gpm_occupancy, 100)) {
            return "mig gpm_occupancy must be 0 to 100";
        }
    }
    return NULL;
}

static const char *apply_gpu_key(struct gpu_config *gpu, const char *field, char *value)
{
    if (strcmp(field, "name") == 0) {
        if (*value == '\0' || strlen(value) >= sizeof(gpu->name)) {
            return "name must be 1 to 95 characters";
        }
        copy_string(gpu->name, sizeof(gpu->name), value);
    } else if (strcmp(field, "uuid") == 0) {
        if (*value == '\0' || strlen(value) >= sizeof(gpu->uuid)) {
            return "uuid must be 1 to 95 characters";
        }
        copy_string(gpu->uuid, sizeof(gpu->uuid), value);
    } else if (strcmp(field, "pci_bus_id") == 0) {
        if (!parse_pci_bus_id(value, gpu)) {
            return "pci_bus_id must look like 00000000:17:00.0";
        }
    } else if (strcmp(field, "memory_total") == 0) {
        if (!parse_u64(value, &gpu->memory_total)) {
            return "memory_total must be a byte count";
        }
    } else if (strcmp(field, "memory_used") == 0) {
        if (!parse_u64(value, &gpu->memory_used)) {
            return "memory_used must be a byte count";
        }
    } else if (strcmp(field, "memory_reserved") == 0) {
        if (!parse_u64(value, &gpu->memory_reserved)) {
            return "memory_reserved must be a byte count";
        }
    } else if (strcmp(field, "util_gpu") == 0) {
        if (!parse_u32(value, &gpu->util_gpu, 100)) {
            return "util_gpu must be 0 to 100";
        }
    } else if (strcmp(field, "util_memory") == 0) {
        if (!parse_u32(value, &gpu->util_memory, 100)) {
            return "util_memory must be 0 to 100";
        }
    } else if (strcmp(field, "temperature") == 0) {
        if (!parse_u32(value, &gpu->temperature, 1000)) {
            return "temperature must be 0 to 1000";
        }
    } else if (strcmp(field, "power_mw") == 0) {
        if (!parse_u32(value, &gpu->power_mw, UINT_MAX)) {
            return "power_mw must be an unsigned 32-bit number";
        }
    } else if (strcmp(field, "mig") == 0) {
        if (!parse_u32(value, &gpu->mig, 1)) {
            return "mig must be 0 or 1";
        }
    } else if (strcmp(field, "processes") == 0) {
        return parse_processes(value, gpu->processes, &gpu->process_count, MAX_PROCESSES);
    } else if (strncmp(field, "mig.", 4) == 0) {
        return apply_mig_key(gpu, field + 4, value);
    } else if (strcmp(field, "hang") == 0) {
        if (!parse_u32(value, &gpu->hang, 1)) {
            return "hang must be 0 or 1";
        }
    } else if (strcmp(field, "state") == 0) {
        if (strcmp(value, "ok") == 0) {
            gpu->state = STATE_OK;
        } else if (strcmp(value, "lost") == 0) {
            gpu->state = STATE_LOST;
        } else if (strcmp(value, "not_supported") == 0) {
            gpu->state = STATE_NOT_SUPPORTED;
        } else if (strcmp(value, "no_permission") == 0) {
            gpu->state = STATE_NO_PERMISSION;
        } else if (strcmp(value, "reset_required") == 0) {
            gpu->state = STATE_RESET_REQUIRED;
        } else if (strcmp(value, "unknown") == 0) {
            gpu->state = STATE_UNKNOWN;
        } else if (strcmp(value, "not_ready") == 0) {
            gpu->state = STATE_NOT_READY;
        } else {
            return "state must be ok, lost, not_supported, no_permission, reset_required, unknown or not_ready";
        }
    } else if (strcmp(field, "xid") == 0) {
        if (!parse_u64(value, &gpu->xid)) {
            return "xid must be an unsigned number";
        }
    } else if (strcmp(field, "supported_events") == 0) {
        if (!parse_u64(value, &gpu->supported_events)) {
            return "supported_events must be an event type mask";
        }
    } else if (strcmp(field, "unsupported") == 0) {
        return parse_unsupported(value, gpu);
    } else {
        return apply_counter(gpu, field, value);
    }
    return NULL;
}

static const char *apply_key(struct scenario *scenario, const char *key, char *value)
{
    if (strcmp(key, "driver_version") == 0) {
        if (*value == '\0' || strlen(value) >= sizeof(scenario->driver_version)) {
            return "driver_version must be 1 to 79 characters";
        }
        copy_string(scenario->driver_version, sizeof(scenario->driver_version), value);
        return NULL;
    }
    if (strcmp(key, "init") == 0) {
        if (strcmp(value, "ok") == 0) {
            scenario->init_result = NVML_SUCCESS;
        } else if (strcmp(value, "version_mismatch") == 0) {
            scenario->init_result = NVML_ERROR_LIB_RM_VERSION_MISMATCH;
        } else if (strcmp(value, "driver_not_loaded") == 0) {
            scenario->init_result = NVML_ERROR_DRIVER_NOT_LOADED;
        } else if (strcmp(value, "no_permission") == 0) {
            scenario->init_result = NVML_ERROR_NO_PERMISSION;
        } else {
            return "init must be ok, version_mismatch, driver_not_loaded or no_permission";
        }
        return NULL;
    }
    if (strncmp(key, "export.", 7) == 0) {
        for (unsigned int i = 0; i < HIDEABLE_SYMBOL_COUNT; i++) {
            if (strcmp(key + 7, g_hideable[i]) == 0) {
                unsigned int exported;
                if (!parse_u32(value, &exported, 1)) {
                    return "export.<symbol> must be 0 or 1";
                }
                scenario->hidden = exported ? scenario->hidden & ~(1U << i) : scenario->hidden | (1U << i);
                return NULL;
            }
        }
        return "only nvmlDeviceGetComputeRunningProcesses_v3/_v2, nvmlDeviceGetConfComputeMemSizeInfo, "
               "nvmlDeviceGetRunningProcessDetailList, nvmlDeviceGetCurrentClocksEventReasons and the six nvmlGpm* "
               "calls (SampleAlloc, SampleFree, SampleGet, MigSampleGet, MetricsGet, QueryDeviceSupport) can be "
               "hidden";
    }
    if (strcmp(key, "driver_epoch") == 0) {
        if (!parse_u32(value, &scenario->driver_epoch, UINT_MAX)) {
            return "driver_epoch must be a number";
        }
        return NULL;
    }
    if (strcmp(key, "process_record_bytes") == 0) {
        unsigned int bytes;
        if (!parse_u32(value, &bytes, UINT_MAX) || (bytes != sizeof(nvmlProcessInfo_t) && bytes != sizeof(nvmlProcessInfoCc_t))) {
            return "process_record_bytes must be 24 or 32";
        }
        scenario->process_record_bytes = bytes;
        return NULL;
    }
    if (strcmp(key, "gpu.count") == 0) {
        if (!parse_u32(value, &scenario->gpu_count, MAX_GPUS)) {
            return "gpu.count must be 0 to 64";
        }
        return NULL;
    }
    if (strncmp(key, "gpu.", 4) == 0 && isdigit((unsigned char)key[4])) {
        char *end = NULL;
        errno = 0;
        unsigned long index = strtoul(key + 4, &end, 10);
        if (errno != 0 || *end != '.' || end[1] == '\0') {
            return "gpu keys look like gpu.<index>.<field>";
        }
        if (index >= MAX_GPUS) {
            return "the gpu index must be below 64";
        }
        return apply_gpu_key(&scenario->gpus[index], end + 1, value);
    }
    /* Unknown top-level keys are ignored. */
    return NULL;
}

static void parse_line(struct scenario *scenario, char *line, unsigned int line_number)
{
    char *hash = strchr(line, '#');
    if (hash != NULL) {
        *hash = '\0';
    }
    char *text = trim(line);
    if (*text == '\0') {
        return;
    }
    char original[256];
    copy_string(original, sizeof(original), text);
    for (char *c = original; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7F) {
            *c = '?'; /* keep control characters out of the message */
        }
    }
    const char *reason;
    char *equals = strchr(text, '=');
    if (equals == NULL) {
        reason = "expected key=value";
    } else {
        *equals = '\0';
        char *key = trim(text);
        char *value = trim(equals + 1);
        reason = *key == '\0' ? "the key is empty" : apply_key(scenario, key, value);
    }
    if (reason != NULL) {
        fprintf(stderr, "fake-nvml: %s:%u: ignored malformed line '%s': %s\n", g_path, line_number, original, reason);
        fflush(stderr);
    }
}

static void parse_file(struct scenario *scenario, FILE *file)
{
    char *line = NULL;
    size_t capacity = 0;
    unsigned int line_number = 0;
    while (getline(&line, &capacity, file) != -1) {
        line_number++;
        parse_line(scenario, line, line_number);
    }
    free(line);
}

static int same_identity(const struct file_identity *a, const struct file_identity *b)
{
    if (a->present != b->present) {
        return 0;
    }
    return !a->present || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec);
}

static int gpu_is_lost(const struct scenario *scenario, unsigned int index)
{
    return index >= scenario->gpu_count || scenario->gpus[index].state == STATE_LOST ||
           (g_init_count != 0 && scenario->driver_epoch != g_init_epoch);
}

static void queue_event(struct nvmlEventSet_st *set, unsigned int gpu, unsigned long long type,
                        unsigned long long data, unsigned int gpu_instance, unsigned int compute_instance)
{
    if (set->count == MAX_QUEUED_EVENTS) {
        return;
    }
    struct queued_event *slot = &set->queue[(set->head + set->count) % MAX_QUEUED_EVENTS];
    slot->gpu = gpu;
    slot->type = type;
    slot->data = data;
    slot->gpu_instance = gpu_instance;
    slot->compute_instance = compute_instance;
    set->count++;
}

/* Queues one XidCriticalError event on every set registered for it on GPU gpu. Returns whether any was. */
static int raise_xid(unsigned int gpu, unsigned long long xid, unsigned int gpu_instance, unsigned int compute_instance)
{
    int raised = 0;
    for (struct nvmlEventSet_st *set = g_event_sets; set != NULL; set = set->next) {
        if ((set->masks[gpu] & nvmlEventTypeXidCriticalError) != 0) {
            queue_event(set, gpu, nvmlEventTypeXidCriticalError, xid, gpu_instance, compute_instance);
            raised = 1;
        }
    }
    return raised;
}

/*
 * Makes g_next the current scenario, raising XID events for values that changed to nonzero: a GPU's own
 * (instance ids 0xFFFFFFFF), then its current MIG devices' (their gi/ci), on the GPU's registrations.
 */
static void publish_next(void)
{
    int raised = 0;
    for (unsigned int i = 0; i < MAX_GPUS; i++) {
        if (gpu_is_lost(g_next, i)) {
            continue;
        }
        const struct gpu_config *next = &g_next->gpus[i];
        const struct gpu_config *current = &g_current->gpus[i];
        if (next->xid != 0 && next->xid != current->xid) {
            raised |= raise_xid(i, next->xid, NVML_NO_INSTANCE_ID, NVML_NO_INSTANCE_ID);
        }
        if (next->mig != NVML_DEVICE_MIG_ENABLE) {
            continue;
        }
        for (unsigned int m = 0; m < next->mig_count; m++) {
            const struct mig_config *mig = &next->migs[m];
            if (mig->xid != 0 && mig->xid != current->migs[m].xid) {
                raised |= raise_xid(i, mig->xid, mig->gi, mig->ci);
            }
        }
    }
    struct scenario *previous = g_current;
    g_current = g_next;
    g_next = previous;
    if (raised) {
        pthread_cond_broadcast(&g_changed);
    }
}

/* Checks the scenario file (at most every g_reload_ms unless forced) and re-parses it when it changed. */
static void refresh(int force)
{
    long long now = monotonic_ms();
    if (!force && now - g_last_check_ms < g_reload_ms) {
        return;
    }
    g_last_check_ms = now;

    struct file_identity identity;
    memset(&identity, 0, sizeof(identity));
    struct stat info;
    FILE *file = NULL;
    if (g_path[0] != '\0' && stat(g_path, &info) == 0 && S_ISREG(info.st_mode)) {
        identity.present = 1;
        identity.dev = info.st_dev;
        identity.ino = info.st_ino;
        identity.size = info.st_size;
        identity.mtime = info.st_mtim;
    }
    if (same_identity(&identity, &g_identity)) {
        return;
    }
    g_identity = identity;

    set_default_scenario(g_next);
    if (identity.present) {
        file = fopen(g_path, "r");
        if (file == NULL) {
            fprintf(stderr, "fake-nvml: cannot read scenario file '%s' (%s); behaving as zero GPUs\n", g_path,
                    strerror(errno));
            fflush(stderr);
        } else {
            parse_file(g_next, file);
            fclose(file);
        }
    } else if (g_path[0] != '\0') {
        fprintf(stderr, "fake-nvml: scenario file '%s' not found; behaving as zero GPUs\n", g_path);
        fflush(stderr);
    }
    publish_next();
}

static void read_environment(void)
{
    const char *path = getenv(SCENARIO_ENV);
    char next_path[PATH_CAPACITY];
    copy_string(next_path, sizeof(next_path), path != NULL ? path : "");
    if (strcmp(next_path, g_path) != 0) {
        copy_string(g_path, sizeof(g_path), next_path);
        memset(&g_identity, 0, sizeof(g_identity));
        g_identity.present = -1; /* differs from both "present" and "missing": forces a parse */
    }
    const char *reload = getenv(RELOAD_ENV);
    unsigned long long reload_ms;
    g_reload_ms = DEFAULT_RELOAD_MS;
    if (reload != NULL && *reload != '\0') {
        if (parse_u64(reload, &reload_ms) && reload_ms <= 60000) {
            g_reload_ms = (long long)reload_ms;
        } else {
            fprintf(stderr, "fake-nvml: ignored %s='%s': expected 0 to 60000 milliseconds\n", RELOAD_ENV, reload);
            fflush(stderr);
        }
    }
}

/* The number of calls blocked by gpu.<i>.hang right now (see fake_nvml_hung_calls). Guarded by g_lock. */
static unsigned int g_hung_calls;

/* Waits, with the lock released, until the next scenario check is due or an event is raised. Call with the lock held. */
static void sleep_until_next_check(void)
{
    long long step = g_reload_ms < 5 ? 5 : (g_reload_ms > 100 ? 100 : g_reload_ms);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(step / 1000);
    until.tv_nsec += (long)(step % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g_changed, &g_lock, &until);
}

/*
 * Not part of NVML: a seam for tests, which find it with dlsym. The number of calls blocked right now by
 * gpu.<i>.hang=1, so a test can wait until its caller is stuck instead of guessing how long that takes.
 */
FAKE_API unsigned int fake_nvml_hung_calls(void)
{
    lock();
    unsigned int count = g_hung_calls;
    unlock();
    return count;
}

/* Entry check for calls that need an initialized library. Call with the lock held. */
static nvmlReturn_t enter(void)
{
    if (g_init_count == 0) {
        return NVML_ERROR_UNINITIALIZED;
    }
    refresh(0);
    return NVML_SUCCESS;
}

enum call_kind { CALL_IDENTITY, CALL_TELEMETRY };

/* Whether address is one of the handles in table (bytes long), not just a pointer into it. */
static int is_handle_in(nvmlDevice_t device, const void *table, size_t bytes)
{
    uintptr_t address = (uintptr_t)device;
    uintptr_t first = (uintptr_t)table;
    return device != NULL && address >= first && address < first + bytes &&
           (address - first) % sizeof(struct nvmlDevice_st) == 0;
}

/* Whether device is a MIG device's handle (current or stale). */
static int is_mig_handle(nvmlDevice_t device)
{
    return is_handle_in(device, g_mig_devices, sizeof(g_mig_devices));
}

/* Whether a MIG handle's slot is gone: its GPU has mig=0 or the slot is not below mig.count (see "MIG devices"). */
static int mig_is_stale(const struct scenario *scenario, nvmlDevice_t device)
{
    const struct gpu_config *gpu = &scenario->gpus[device->index];
    return gpu->mig != NVML_DEVICE_MIG_ENABLE || device->slot >= gpu->mig_count;
}

/*
 * Entry check for per-device calls that accept both kinds of handle: *gpu is the GPU (the parent of a MIG
 * handle), *mig the MIG device or NULL for a GPU's handle. The parent's loss comes first, then a stale MIG
 * handle's NVML_ERROR_NOT_FOUND, then (telemetry only) the parent's hang and state. Call with the lock held.
 */
static nvmlReturn_t enter_any_device(nvmlDevice_t device, enum call_kind kind, const struct gpu_config **gpu,
                                     const struct mig_config **mig)
{
    nvmlReturn_t result = enter();
    if (result != NVML_SUCCESS) {
        return result;
    }
    if (!is_handle_in(device, g_devices, sizeof(g_devices)) && !is_mig_handle(device)) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    unsigned int index = device->index;
    if (gpu_is_lost(g_current, index)) {
        return NVML_ERROR_GPU_IS_LOST;
    }
    if (device->is_mig && mig_is_stale(g_current, device)) {
        return NVML_ERROR_NOT_FOUND;
    }
    if (kind == CALL_TELEMETRY && g_current->gpus[index].hang) {
        /* A hung driver call: block, with the lock released, until the key goes back to 0. */
        g_hung_calls++;
        while (g_init_count != 0 && !gpu_is_lost(g_current, index) && g_current->gpus[index].hang) {
            sleep_until_next_check();
            refresh(0);
        }
        g_hung_calls--;
        result = enter();
        if (result != NVML_SUCCESS) {
            return result;
        }
        if (gpu_is_lost(g_current, index)) {
            return NVML_ERROR_GPU_IS_LOST;
        }
        if (device->is_mig && mig_is_stale(g_current, device)) {
            return NVML_ERROR_NOT_FOUND;
        }
    }
    const struct gpu_config *config = &g_current->gpus[index];
    if (kind == CALL_TELEMETRY) {
        if (config->state == STATE_NOT_SUPPORTED) {
            return NVML_ERROR_NOT_SUPPORTED;
        }
        if (config->state == STATE_NO_PERMISSION) {
            return NVML_ERROR_NO_PERMISSION;
        }
        if (config->state == STATE_RESET_REQUIRED) {
            return NVML_ERROR_RESET_REQUIRED;
        }
        if (config->state == STATE_UNKNOWN) {
            return NVML_ERROR_UNKNOWN;
        }
        if (config->state == STATE_NOT_READY) {
            return NVML_ERROR_NOT_READY;
        }
    }
    *gpu = config;
    *mig = device->is_mig ? &config->migs[device->slot] : NULL;
    return NVML_SUCCESS;
}

/*
 * Entry check for per-device calls that only a GPU answers: the checks of enter_any_device, then
 * NVML_ERROR_NOT_SUPPORTED for a MIG handle (see "MIG devices"). Call with the lock held.
 */
static nvmlReturn_t enter_device(nvmlDevice_t device, enum call_kind kind, const struct gpu_config **gpu)
{
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, kind, gpu, &mig);
    if (result == NVML_SUCCESS && mig != NULL) {
        result = NVML_ERROR_NOT_SUPPORTED;
    }
    return result;
}

static int event_set_is_live(nvmlEventSet_t set)
{
    for (struct nvmlEventSet_st *candidate = g_event_sets; candidate != NULL; candidate = candidate->next) {
        if (candidate == set) {
            return 1;
        }
    }
    return 0;
}

static nvmlReturn_t copy_out_string(char *destination, unsigned int length, const char *source)
{
    if (destination == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    size_t needed = strlen(source) + 1;
    if (length < needed) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(destination, source, needed);
    return NVML_SUCCESS;
}

static unsigned long long free_bytes(unsigned long long total, unsigned long long used, unsigned long long reserved)
{
    unsigned long long taken = used + reserved;
    if (taken < used || taken >= total) {
        return 0;
    }
    return total - taken;
}

/* Whether gpu.<i>.unsupported turns call off on gpu (see "Choices"). */
static int is_unsupported(const struct gpu_config *gpu, enum unsupported_call call)
{
    return (gpu->unsupported & (1U << call)) != 0;
}

/*
 * The entry of an operator-counter call (clocks, energy, PCIe, video engines, ECC, remapped rows): the telemetry
 * checks of enter_device, then NVML_ERROR_INVALID_ARGUMENT when the arguments are not valid (a NULL output, an
 * unknown enum value), then NVML_ERROR_NOT_SUPPORTED when the scenario says the GPU lacks the feature. Takes the
 * lock; on NVML_SUCCESS it is still held (the caller writes its outputs, then unlocks), otherwise released.
 */
static nvmlReturn_t enter_counter(nvmlDevice_t device, int valid, enum unsupported_call feature,
                                  const struct gpu_config **gpu)
{
    lock();
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, gpu);
    if (result == NVML_SUCCESS && !valid) {
        result = NVML_ERROR_INVALID_ARGUMENT;
    } else if (result == NVML_SUCCESS && is_unsupported(*gpu, feature)) {
        result = NVML_ERROR_NOT_SUPPORTED;
    }
    if (result != NVML_SUCCESS) {
        unlock();
    }
    return result;
}

/* ---- Exported NVML functions -------------------------------------------------------------------- */

FAKE_API nvmlReturn_t nvmlInit_v2(void)
{
    lock();
    read_environment();
    refresh(1);
    nvmlReturn_t result = g_current->init_result;
    if (result == NVML_SUCCESS) {
        g_init_count++;
        g_init_epoch = g_current->driver_epoch;
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlShutdown(void)
{
    lock();
    nvmlReturn_t result = NVML_SUCCESS;
    if (g_init_count == 0) {
        result = NVML_ERROR_UNINITIALIZED;
    } else if (--g_init_count == 0) {
        pthread_cond_broadcast(&g_changed);
    }
    unlock();
    return result;
}

FAKE_API const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires reset";
    case NVML_ERROR_OPERATING_SYSTEM: return "GPU access blocked by the operating system";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "Driver/library version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_ENABLED: return "vGPU ECC Not Enabled";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient Resources";
    case NVML_ERROR_FREQ_NOT_SUPPORTED: return "Frequency Not Supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument Version Mismatch";
    case NVML_ERROR_DEPRECATED: return "Deprecated";
    case NVML_ERROR_NOT_READY: return "Not Ready";
    case NVML_ERROR_GPU_NOT_FOUND: return "GPU Not Found";
    case NVML_ERROR_INVALID_STATE: return "Invalid State";
    case NVML_ERROR_UNKNOWN: return "Unknown Error";
    default: return "Unknown Error";
    }
}

FAKE_API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS) {
        result = copy_out_string(version, length, g_current->driver_version);
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS) {
        if (deviceCount == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *deviceCount = g_current->gpu_count;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS) {
        if (device == NULL || index >= g_current->gpu_count) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (gpu_is_lost(g_current, index)) {
            result = NVML_ERROR_GPU_IS_LOST;
        } else {
            *device = &g_devices[index];
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        result = copy_out_string(uuid, length, mig != NULL ? mig->uuid : gpu->uuid);
    }
    unlock();
    return result;
}

/* Appends source to the string in destination (capacity bytes), cutting it to fit. */
static void append_string(char *destination, size_t capacity, const char *source)
{
    size_t used = strlen(destination);
    if (used + 1 < capacity) {
        copy_string(destination + used, capacity - used, source);
    }
}

FAKE_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        /* A MIG device: "<GPU name> MIG <profile>", cut to fit NVML_DEVICE_NAME_V2_BUFFER_SIZE. */
        char composed[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
        copy_string(composed, sizeof(composed), gpu->name);
        if (mig != NULL) {
            append_string(composed, sizeof(composed), " MIG ");
            append_string(composed, sizeof(composed), mig->profile);
        }
        result = copy_out_string(name, length, composed);
    }
    unlock();
    return result;
}

/* A MIG handle answers its GPU's PCI info. */
FAKE_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (pci == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            memset(pci, 0, sizeof(*pci));
            snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.%X", gpu->pci_domain & 0xFFFFU,
                     gpu->pci_bus, gpu->pci_device, gpu->pci_function);
            pci->domain = gpu->pci_domain;
            pci->bus = gpu->pci_bus;
            pci->device = gpu->pci_device;
            pci->pciDeviceId = 0x233010DEU;    /* H100 SXM5: device 0x2330, vendor 0x10DE */
            pci->pciSubSystemId = 0x16C110DEU;
            copy_string(pci->busId, sizeof(pci->busId), gpu->pci_bus_id);
        }
    }
    unlock();
    return result;
}

/* The memory of a GPU, or of a MIG device (its own slice) when mig is not NULL. */
static void memory_of(const struct gpu_config *gpu, const struct mig_config *mig, unsigned long long *total,
                      unsigned long long *used, unsigned long long *reserved)
{
    *total = mig != NULL ? mig->memory_total : gpu->memory_total;
    *used = mig != NULL ? mig->memory_used : gpu->memory_used;
    *reserved = mig != NULL ? mig->memory_reserved : gpu->memory_reserved;
}

FAKE_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_TELEMETRY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (memory == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (memory->version != nvmlMemory_v2) {
            result = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        } else {
            unsigned long long total, used, reserved;
            memory_of(gpu, mig, &total, &used, &reserved);
            memory->total = total;
            memory->reserved = reserved;
            memory->free = free_bytes(total, used, reserved);
            memory->used = used;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_TELEMETRY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (memory == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            /* v1 counts reserved memory as used. */
            unsigned long long total, used, reserved;
            memory_of(gpu, mig, &total, &used, &reserved);
            memory->total = total;
            memory->free = free_bytes(total, used, reserved);
            memory->used = total - memory->free;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (utilization == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (gpu->mig == NVML_DEVICE_MIG_ENABLE) {
            result = NVML_ERROR_NOT_SUPPORTED;
        } else {
            utilization->gpu = gpu->util_gpu;
            utilization->memory = gpu->util_memory;
        }
    }
    unlock();
    return result;
}

/* Writes count process records from entries at record index first of infos, with the given instance ids. */
static void write_process_records(void *infos, size_t record_bytes, unsigned int first,
                                  const struct process_entry *entries, unsigned int count, unsigned int gpu_instance,
                                  unsigned int compute_instance)
{
    for (unsigned int i = 0; i < count; i++) {
        nvmlProcessInfoCc_t record;
        memset(&record, 0, sizeof(record));
        record.pid = entries[i].pid;
        record.usedGpuMemory = entries[i].used;
        record.gpuInstanceId = gpu_instance;
        record.computeInstanceId = compute_instance;
        record.usedGpuCcProtectedMemory = 0;
        memcpy((char *)infos + (size_t)(first + i) * record_bytes, &record, record_bytes);
    }
}

/*
 * Fills infos with records of record_bytes each (24, or 32 with usedGpuCcProtectedMemory), as NVML does; 0 takes
 * the scenario's process_record_bytes, read after the entry check so a re-read file applies to this very call. A
 * MIG handle lists its own processes; a GPU with mig=1 lists its own, then its current MIG devices' (see "MIG
 * devices").
 */
static nvmlReturn_t list_processes(nvmlDevice_t device, unsigned int *infoCount, void *infos, size_t record_bytes)
{
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_TELEMETRY, &gpu, &mig);
    if (result != NVML_SUCCESS) {
        return result;
    }
    if (record_bytes == 0) {
        record_bytes = g_current->process_record_bytes;
    }
    if (infoCount == NULL || (infos == NULL && *infoCount != 0)) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    unsigned int mig_count = mig == NULL && gpu->mig == NVML_DEVICE_MIG_ENABLE ? gpu->mig_count : 0;
    unsigned int needed = mig != NULL ? mig->process_count : gpu->process_count;
    for (unsigned int m = 0; m < mig_count; m++) {
        needed += gpu->migs[m].process_count;
    }
    if (*infoCount < needed) {
        *infoCount = needed;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (mig != NULL) {
        write_process_records(infos, record_bytes, 0, mig->processes, mig->process_count, mig->gi, mig->ci);
    } else {
        unsigned int written = gpu->process_count;
        write_process_records(infos, record_bytes, 0, gpu->processes, gpu->process_count, NVML_NO_INSTANCE_ID,
                              NVML_NO_INSTANCE_ID);
        for (unsigned int m = 0; m < mig_count; m++) {
            const struct mig_config *slot = &gpu->migs[m];
            write_process_records(infos, record_bytes, written, slot->processes, slot->process_count, slot->gi,
                                  slot->ci);
            written += slot->process_count;
        }
    }
    *infoCount = needed;
    return NVML_SUCCESS;
}

static nvmlReturn_t processes_v3(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos)
{
    lock();
    nvmlReturn_t result = list_processes(device, infoCount, infos, 0);
    unlock();
    return result;
}

static nvmlReturn_t processes_v2(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos)
{
    lock();
    nvmlReturn_t result = list_processes(device, infoCount, infos, sizeof(nvmlProcessInfo_t));
    unlock();
    return result;
}

static nvmlReturn_t conf_compute_mem_size_info(nvmlDevice_t device, nvmlConfComputeMemSizeInfo_t *memInfo)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        result = memInfo == NULL ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED;
    }
    unlock();
    return result;
}

static nvmlReturn_t running_process_detail_list(nvmlDevice_t device, nvmlProcessDetailList_t *plist)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        result = plist == NULL ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED;
    }
    unlock();
    return result;
}

/* Both reasons calls: nvmlDeviceGetCurrentClocksEventReasons (hideable) and ...ThrottleReasons (always there). */
static nvmlReturn_t clocks_event_reasons(nvmlDevice_t device, unsigned long long *reasons)
{
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, reasons != NULL, UNSUPPORTED_CLOCK_EVENT_REASONS, &gpu);
    if (result == NVML_SUCCESS) {
        *reasons = gpu->clock_event_reasons;
        unlock();
    }
    return result;
}

/*
 * Whether the scenario exports symbol (see "Exports"). Runs inside dlsym, under the loader's lock: it takes
 * only this library's mutex and reads the scenario file, and never loads anything.
 */
static int is_exported(enum hideable_symbol symbol)
{
    lock();
    read_environment();
    refresh(1);
    int exported = (g_current->hidden & (1U << symbol)) == 0;
    unlock();
    return exported;
}

typedef nvmlReturn_t (*processes_fn)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
typedef nvmlReturn_t (*conf_compute_mem_size_info_fn)(nvmlDevice_t, nvmlConfComputeMemSizeInfo_t *);
typedef nvmlReturn_t (*running_process_detail_list_fn)(nvmlDevice_t, nvmlProcessDetailList_t *);
typedef nvmlReturn_t (*clocks_event_reasons_fn)(nvmlDevice_t, unsigned long long *);

static processes_fn resolve_processes_v3(void)
{
    return is_exported(SYMBOL_PROCESSES_V3) ? processes_v3 : NULL;
}

static processes_fn resolve_processes_v2(void)
{
    return is_exported(SYMBOL_PROCESSES_V2) ? processes_v2 : NULL;
}

static conf_compute_mem_size_info_fn resolve_conf_compute_mem_size_info(void)
{
    return is_exported(SYMBOL_CONF_COMPUTE_MEM_SIZE_INFO) ? conf_compute_mem_size_info : NULL;
}

static running_process_detail_list_fn resolve_running_process_detail_list(void)
{
    return is_exported(SYMBOL_RUNNING_PROCESS_DETAIL_LIST) ? running_process_detail_list : NULL;
}

static clocks_event_reasons_fn resolve_clocks_event_reasons(void)
{
    return is_exported(SYMBOL_CLOCKS_EVENT_REASONS) ? clocks_event_reasons : NULL;
}

FAKE_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                              nvmlProcessInfo_t *infos)
    __attribute__((ifunc("resolve_processes_v3")));

FAKE_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                              nvmlProcessInfo_t *infos)
    __attribute__((ifunc("resolve_processes_v2")));

FAKE_API nvmlReturn_t nvmlDeviceGetConfComputeMemSizeInfo(nvmlDevice_t device, nvmlConfComputeMemSizeInfo_t *memInfo)
    __attribute__((ifunc("resolve_conf_compute_mem_size_info")));

FAKE_API nvmlReturn_t nvmlDeviceGetRunningProcessDetailList(nvmlDevice_t device, nvmlProcessDetailList_t *plist)
    __attribute__((ifunc("resolve_running_process_detail_list")));

FAKE_API nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *clocksEventReasons)
    __attribute__((ifunc("resolve_clocks_event_reasons")));

/* The pre-R535 name of nvmlDeviceGetCurrentClocksEventReasons; always exported. */
FAKE_API nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                                unsigned long long *clocksThrottleReasons)
{
    return clocks_event_reasons(device, clocksThrottleReasons);
}

FAKE_API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensorType,
                                               unsigned int *temp)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (temp == NULL || sensorType != NVML_TEMPERATURE_GPU) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *temp = gpu->temperature;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (power == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *power = gpu->power_mw;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (currentMode == NULL || pendingMode == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *currentMode = gpu->mig;
            *pendingMode = gpu->mig;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int *clock)
{
    int known = type == NVML_CLOCK_GRAPHICS || type == NVML_CLOCK_SM || type == NVML_CLOCK_MEM || type == NVML_CLOCK_VIDEO;
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, clock != NULL && known, UNSUPPORTED_CLOCKS, &gpu);
    if (result == NVML_SUCCESS) {
        /* graphics and SM share one clock */
        *clock = type == NVML_CLOCK_MEM ? gpu->clock_mem : type == NVML_CLOCK_VIDEO ? gpu->clock_video : gpu->clock_sm;
        unlock();
    }
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, energy != NULL, UNSUPPORTED_ENERGY, &gpu);
    if (result == NVML_SUCCESS) {
        *energy = gpu->energy_mj;
        unlock();
    }
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t device, nvmlPcieUtilCounter_t counter,
                                                  unsigned int *value)
{
    int known = counter == NVML_PCIE_UTIL_TX_BYTES || counter == NVML_PCIE_UTIL_RX_BYTES;
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, value != NULL && known, UNSUPPORTED_PCIE, &gpu);
    if (result == NVML_SUCCESS) {
        *value = counter == NVML_PCIE_UTIL_TX_BYTES ? gpu->pcie_tx_kbps : gpu->pcie_rx_kbps;
        unlock();
    }
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetPcieReplayCounter(nvmlDevice_t device, unsigned int *value)
{
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, value != NULL, UNSUPPORTED_PCIE, &gpu);
    if (result == NVML_SUCCESS) {
        *value = gpu->pcie_replays;
        unlock();
    }
    return result;
}

/* Encoder or decoder utilization: the value and a fixed sampling period. */
static nvmlReturn_t codec_utilization(nvmlDevice_t device, enum unsupported_call call, unsigned int *utilization,
                                      unsigned int *samplingPeriodUs)
{
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, utilization != NULL && samplingPeriodUs != NULL, call, &gpu);
    if (result == NVML_SUCCESS) {
        *utilization = call == UNSUPPORTED_ENCODER ? gpu->util_encoder : gpu->util_decoder;
        *samplingPeriodUs = SAMPLING_PERIOD_US;
        unlock();
    }
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t device, unsigned int *utilization,
                                                      unsigned int *samplingPeriodUs)
{
    return codec_utilization(device, UNSUPPORTED_ENCODER, utilization, samplingPeriodUs);
}

FAKE_API nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t device, unsigned int *utilization,
                                                      unsigned int *samplingPeriodUs)
{
    return codec_utilization(device, UNSUPPORTED_DECODER, utilization, samplingPeriodUs);
}

FAKE_API nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                                  nvmlEccCounterType_t counterType, unsigned long long *eccCounts)
{
    int known = (errorType == NVML_MEMORY_ERROR_TYPE_CORRECTED || errorType == NVML_MEMORY_ERROR_TYPE_UNCORRECTED) &&
                (counterType == NVML_VOLATILE_ECC || counterType == NVML_AGGREGATE_ECC);
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, eccCounts != NULL && known, UNSUPPORTED_ECC, &gpu);
    if (result == NVML_SUCCESS) {
        /* Volatile and aggregate counts are the same: the scenario models one driver lifetime. */
        *eccCounts = errorType == NVML_MEMORY_ERROR_TYPE_CORRECTED ? gpu->ecc_corrected : gpu->ecc_uncorrected;
        unlock();
    }
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
                                                unsigned int *isPending, unsigned int *failureOccurred)
{
    int valid = corrRows != NULL && uncRows != NULL && isPending != NULL && failureOccurred != NULL;
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_counter(device, valid, UNSUPPORTED_REMAPPED_ROWS, &gpu);
    if (result == NVML_SUCCESS) {
        *corrRows = gpu->remapped_corrected;
        *uncRows = gpu->remapped_uncorrected;
        *isPending = gpu->remap_pending;
        *failureOccurred = gpu->remap_failure;
        unlock();
    }
    return result;
}

/* Field values (see "Choices"): only NVML_FI_DEV_MEMORY_TEMP is known; each entry gets its own nvmlReturn. */
FAKE_API nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (valuesCount <= 0 || values == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            long long timestamp = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000L;
            for (int i = 0; i < valuesCount; i++) {
                nvmlFieldValue_t *entry = &values[i];
                entry->timestamp = timestamp;
                entry->latencyUsec = 0;
                if (entry->fieldId != NVML_FI_DEV_MEMORY_TEMP || is_unsupported(gpu, UNSUPPORTED_MEMORY_TEMP)) {
                    entry->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
                    continue;
                }
                entry->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
                entry->nvmlReturn = NVML_SUCCESS;
                entry->value.ullVal = 0; /* no stale upper bytes for a caller that reads all 8 */
                entry->value.uiVal = gpu->memory_temp;
            }
        }
    }
    unlock();
    return result;
}

/* ---- MIG device calls (see "MIG devices") ---- */

FAKE_API nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    /* A MIG handle gets the identity checks (lost, stale), then NVML_ERROR_INVALID_ARGUMENT: it never blocks. */
    nvmlReturn_t result = enter_any_device(device, is_mig_handle(device) ? CALL_IDENTITY : CALL_TELEMETRY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (mig != NULL || count == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *count = gpu->mig == NVML_DEVICE_MIG_ENABLE ? MAX_MIG_DEVICES : 0;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                          nvmlDevice_t *migDevice)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (mig != NULL || gpu->mig != NVML_DEVICE_MIG_ENABLE || migDevice == NULL || index >= MAX_MIG_DEVICES) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (index >= gpu->mig_count) {
            result = NVML_ERROR_NOT_FOUND;
        } else {
            *migDevice = &g_mig_devices[device->index][index];
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (isMigDevice == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *isMigDevice = mig != NULL ? 1U : 0U;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(migDevice, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (mig == NULL || device == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *device = &g_devices[migDevice->index];
        }
    }
    unlock();
    return result;
}

/* A MIG device's GPU instance id (gi) or compute instance id (ci); NVML_ERROR_NOT_SUPPORTED on a GPU's handle. */
static nvmlReturn_t instance_id(nvmlDevice_t device, int compute, unsigned int *id)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    nvmlReturn_t result = enter_any_device(device, CALL_IDENTITY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        if (id == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (mig == NULL) {
            result = NVML_ERROR_NOT_SUPPORTED;
        } else {
            *id = compute ? mig->ci : mig->gi;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return instance_id(device, 0, id);
}

FAKE_API nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return instance_id(device, 1, id);
}

FAKE_API nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS) {
        if (set == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            struct nvmlEventSet_st *created = calloc(1, sizeof(*created));
            if (created == NULL) {
                result = NVML_ERROR_MEMORY;
            } else {
                created->next = g_event_sets;
                g_event_sets = created;
                *set = created;
            }
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (eventTypes == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            *eventTypes = gpu->supported_events;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (!event_set_is_live(set)) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if ((eventTypes & ~gpu->supported_events) != 0) {
            result = NVML_ERROR_NOT_SUPPORTED;
        } else {
            set->masks[device->index] |= eventTypes;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS && (data == NULL || !event_set_is_live(set))) {
        result = NVML_ERROR_INVALID_ARGUMENT;
    }
    long long deadline = monotonic_ms() + (long long)timeoutms;
    while (result == NVML_SUCCESS) {
        if (set->count > 0) {
            struct queued_event *event = &set->queue[set->head];
            data->device = &g_devices[event->gpu];
            data->eventType = event->type;
            data->eventData = event->data;
            data->gpuInstanceId = event->gpu_instance;
            data->computeInstanceId = event->compute_instance;
            set->head = (set->head + 1) % MAX_QUEUED_EVENTS;
            set->count--;
            break;
        }
        for (unsigned int i = 0; i < MAX_GPUS && result == NVML_SUCCESS; i++) {
            if (set->masks[i] != 0 && gpu_is_lost(g_current, i)) {
                result = NVML_ERROR_GPU_IS_LOST;
            }
        }
        if (result != NVML_SUCCESS) {
            break;
        }
        long long now = monotonic_ms();
        if (now >= deadline) {
            result = NVML_ERROR_TIMEOUT;
            break;
        }
        /* Sleep until an event is raised, the next scenario check is due, or the deadline. */
        long long step = g_reload_ms < 5 ? 5 : (g_reload_ms > 100 ? 100 : g_reload_ms);
        long long wake = now + step < deadline ? now + step : deadline;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long delta_ms = wake - now;
        until.tv_sec += (time_t)(delta_ms / 1000);
        until.tv_nsec += (long)(delta_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g_changed, &g_lock, &until);
        /* The set may have been freed, or the library shut down, while we slept. */
        result = enter();
        if (result == NVML_SUCCESS && !event_set_is_live(set)) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        }
    }
    unlock();
    return result;
}

FAKE_API nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
    lock();
    nvmlReturn_t result = NVML_ERROR_INVALID_ARGUMENT;
    for (struct nvmlEventSet_st **link = &g_event_sets; *link != NULL; link = &(*link)->next) {
        if (*link == set) {
            *link = set->next;
            free(set);
            result = NVML_SUCCESS;
            pthread_cond_broadcast(&g_changed);
            break;
        }
    }
    /* Memory is released even after nvmlShutdown, but the call reports the uninitialized state. */
    if (result == NVML_SUCCESS && g_init_count == 0) {
        result = NVML_ERROR_UNINITIALIZED;
    }
    unlock();
    return result;
}

/* ---- GPM (see "GPM"); all six calls are hideable, so they are static and exported through IFUNC resolvers ---- */

/* The live sample behind handle, or NULL when it is not one nvmlGpmSampleAlloc returned and nothing freed. */
static struct nvmlGpmSample_st *gpm_sample_of(nvmlGpmSample_t sample)
{
    for (struct nvmlGpmSample_st *candidate = g_gpm_samples; candidate != NULL; candidate = candidate->next) {
        if (candidate == sample.handle) {
            return candidate;
        }
    }
    return NULL;
}

static nvmlReturn_t gpm_sample_alloc(nvmlGpmSample_t *gpmSample)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS) {
        if (gpmSample == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            struct nvmlGpmSample_st *created = calloc(1, sizeof(*created));
            if (created == NULL) {
                result = NVML_ERROR_MEMORY;
            } else {
                created->next = g_gpm_samples;
                g_gpm_samples = created;
                gpmSample->handle = created;
            }
        }
    }
    unlock();
    return result;
}

static nvmlReturn_t gpm_sample_free(nvmlGpmSample_t gpmSample)
{
    lock();
    nvmlReturn_t result = NVML_ERROR_INVALID_ARGUMENT;
    for (struct nvmlGpmSample_st **link = &g_gpm_samples; *link != NULL; link = &(*link)->next) {
        if (*link == gpmSample.handle) {
            *link = gpmSample.handle->next;
            free(gpmSample.handle);
            result = NVML_SUCCESS;
            break;
        }
    }
    /* Memory is released even after nvmlShutdown, but the call reports the uninitialized state. */
    if (result == NVML_SUCCESS && g_init_count == 0) {
        result = NVML_ERROR_UNINITIALIZED;
    }
    unlock();
    return result;
}

/* Records a sample of GPU index (and GPU instance gpu_instance) with the given activity values. */
static void gpm_record(struct nvmlGpmSample_st *sample, unsigned int index, unsigned int gpu_instance,
                       unsigned int graphics, unsigned int sm, unsigned int occupancy)
{
    sample->sequence = ++g_gpm_sequence;
    sample->gpu = index;
    sample->gpu_instance = gpu_instance;
    sample->graphics = graphics;
    sample->sm = sm;
    sample->occupancy = occupancy;
}

static nvmlReturn_t gpm_sample_get(nvmlDevice_t device, nvmlGpmSample_t gpmSample)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        /* Looked up after the entry check: a hung call releases the lock, and the sample may be freed meanwhile. */
        struct nvmlGpmSample_st *sample = gpm_sample_of(gpmSample);
        if (sample == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (!gpu->gpm) {
            result = NVML_ERROR_NOT_SUPPORTED;
        } else {
            gpm_record(sample, device->index, NVML_NO_INSTANCE_ID, gpu->gpm_graphics, gpu->gpm_sm, gpu->gpm_occupancy);
        }
    }
    unlock();
    return result;
}

static nvmlReturn_t gpm_mig_sample_get(nvmlDevice_t device, unsigned int gpuInstanceId, nvmlGpmSample_t gpmSample)
{
    lock();
    const struct gpu_config *gpu = NULL;
    const struct mig_config *mig = NULL;
    /* A MIG handle gets the identity checks (lost, stale), then NVML_ERROR_INVALID_ARGUMENT: it never blocks. */
    nvmlReturn_t result = enter_any_device(device, is_mig_handle(device) ? CALL_IDENTITY : CALL_TELEMETRY, &gpu, &mig);
    if (result == NVML_SUCCESS) {
        struct nvmlGpmSample_st *sample = gpm_sample_of(gpmSample);
        if (mig != NULL || sample == NULL || gpu->mig != NVML_DEVICE_MIG_ENABLE) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (!gpu->gpm) {
            result = NVML_ERROR_NOT_SUPPORTED;
        } else {
            result = NVML_ERROR_NOT_FOUND;
            for (unsigned int m = 0; m < gpu->mig_count; m++) {
                const struct mig_config *slot = &gpu->migs[m];
                if (slot->gi == gpuInstanceId) {
                    gpm_record(sample, device->index, gpuInstanceId, slot->gpm_graphics, slot->gpm_sm,
                               slot->gpm_occupancy);
                    result = NVML_SUCCESS;
                    break;
                }
            }
        }
    }
    unlock();
    return result;
}

/* The metrics the stand-in computes, with the names nvmlGpmMetricsGet points metricInfo at. */
struct gpm_metric_info {
    unsigned int id;
    const char *short_name;
    const char *long_name;
};

static const struct gpm_metric_info g_gpm_metrics[] = {
    { NVML_GPM_METRIC_GRAPHICS_UTIL, "gr_util", "Graphics activity" },
    { NVML_GPM_METRIC_SM_UTIL, "sm_util", "SM activity" },
    { NVML_GPM_METRIC_SM_OCCUPANCY, "sm_occupancy", "SM occupancy" },
};

static nvmlReturn_t gpm_metrics_get(nvmlGpmMetricsGet_t *metricsGet)
{
    lock();
    nvmlReturn_t result = enter();
    if (result == NVML_SUCCESS) {
        const struct nvmlGpmSample_st *first = NULL;
        const struct nvmlGpmSample_st *second = NULL;
        if (metricsGet == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (metricsGet->version != NVML_GPM_METRICS_GET_VERSION) {
            result = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        } else if (metricsGet->numMetrics == 0 || metricsGet->numMetrics > NVML_GPM_METRIC_MAX ||
                   (first = gpm_sample_of(metricsGet->sample1)) == NULL ||
                   (second = gpm_sample_of(metricsGet->sample2)) == NULL || first->sequence == 0 ||
                   second->sequence <= first->sequence || first->gpu != second->gpu ||
                   first->gpu_instance != second->gpu_instance) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            /* Only metrics[0..numMetrics-1]: a caller built against an older header may pass a shorter array. */
            for (unsigned int i = 0; i < metricsGet->numMetrics; i++) {
                nvmlGpmMetric_t *metric = &metricsGet->metrics[i];
                const struct gpm_metric_info *info = NULL;
                for (size_t k = 0; k < sizeof(g_gpm_metrics) / sizeof(g_gpm_metrics[0]); k++) {
                    if (g_gpm_metrics[k].id == metric->metricId) {
                        info = &g_gpm_metrics[k];
                        break;
                    }
                }
                if (info == NULL) {
                    metric->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
                    metric->metricInfo.shortName = NULL;
                    metric->metricInfo.longName = NULL;
                    metric->metricInfo.unit = NULL;
                    continue;
                }
                unsigned int value = info->id == NVML_GPM_METRIC_GRAPHICS_UTIL ? second->graphics
                                     : info->id == NVML_GPM_METRIC_SM_UTIL     ? second->sm
                                                                               : second->occupancy;
                metric->nvmlReturn = NVML_SUCCESS;
                metric->value = (double)value;
                metric->metricInfo.shortName = (char *)info->short_name;
                metric->metricInfo.longName = (char *)info->long_name;
                metric->metricInfo.unit = (char *)"%";
            }
        }
    }
    unlock();
    return result;
}

static nvmlReturn_t gpm_query_device_support(nvmlDevice_t device, nvmlGpmSupport_t *gpmSupport)
{
    lock();
    const struct gpu_config *gpu = NULL;
    nvmlReturn_t result = enter_device(device, CALL_TELEMETRY, &gpu);
    if (result == NVML_SUCCESS) {
        if (gpmSupport == NULL) {
            result = NVML_ERROR_INVALID_ARGUMENT;
        } else if (gpmSupport->version != NVML_GPM_SUPPORT_VERSION) {
            result = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        } else {
            gpmSupport->isSupportedDevice = gpu->gpm;
        }
    }
    unlock();
    return result;
}

typedef nvmlReturn_t (*gpm_sample_alloc_fn)(nvmlGpmSample_t *);
typedef nvmlReturn_t (*gpm_sample_free_fn)(nvmlGpmSample_t);
typedef nvmlReturn_t (*gpm_sample_get_fn)(nvmlDevice_t, nvmlGpmSample_t);
typedef nvmlReturn_t (*gpm_mig_sample_get_fn)(nvmlDevice_t, unsigned int, nvmlGpmSample_t);
typedef nvmlReturn_t (*gpm_metrics_get_fn)(nvmlGpmMetricsGet_t *);
typedef nvmlReturn_t (*gpm_query_device_support_fn)(nvmlDevice_t, nvmlGpmSupport_t *);

static gpm_sample_alloc_fn resolve_gpm_sample_alloc(void)
{
    return is_exported(SYMBOL_GPM_SAMPLE_ALLOC) ? gpm_sample_alloc : NULL;
}

static gpm_sample_free_fn resolve_gpm_sample_free(void)
{
    return is_exported(SYMBOL_GPM_SAMPLE_FREE) ? gpm_sample_free : NULL;
}

static gpm_sample_get_fn resolve_gpm_sample_get(void)
{
    return is_exported(SYMBOL_GPM_SAMPLE_GET) ? gpm_sample_get : NULL;
}

static gpm_mig_sample_get_fn resolve_gpm_mig_sample_get(void)
{
    return is_exported(SYMBOL_GPM_MIG_SAMPLE_GET) ? gpm_mig_sample_get : NULL;
}

static gpm_metrics_get_fn resolve_gpm_metrics_get(void)
{
    return is_exported(SYMBOL_GPM_METRICS_GET) ? gpm_metrics_get : NULL;
}

static gpm_query_device_support_fn resolve_gpm_query_device_support(void)
{
    return is_exported(SYMBOL_GPM_QUERY_DEVICE_SUPPORT) ? gpm_query_device_support : NULL;
}

FAKE_API nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *gpmSample) __attribute__((ifunc("resolve_gpm_sample_alloc")));

FAKE_API nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t gpmSample) __attribute__((ifunc("resolve_gpm_sample_free")));

FAKE_API nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t gpmSample)
    __attribute__((ifunc("resolve_gpm_sample_get")));

FAKE_API nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t device, unsigned int gpuInstanceId, nvmlGpmSample_t gpmSample)
    __attribute__((ifunc("resolve_gpm_mig_sample_get")));

FAKE_API nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *metricsGet)
    __attribute__((ifunc("resolve_gpm_metrics_get")));

FAKE_API nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t device, nvmlGpmSupport_t *gpmSupport)
    __attribute__((ifunc("resolve_gpm_query_device_support")));
