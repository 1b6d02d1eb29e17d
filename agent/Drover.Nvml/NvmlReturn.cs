namespace Drover.Nvml;

/// <summary>
/// NVML's return codes (<c>nvmlReturn_t</c> in nvml.h), with the same numeric values.
/// </summary>
/// <remarks>
/// <see cref="LibraryNotFound"/> is also what this binding reports when the library itself cannot be loaded.
/// A code that NVML adds later arrives as its number, outside the named values.
/// </remarks>
public enum NvmlReturn
{
    /// <summary>The operation was successful.</summary>
    Success = 0,

    /// <summary>NVML was not initialized (nvmlInit_v2 was not called, or the binding was disposed).</summary>
    Uninitialized = 1,

    /// <summary>A supplied argument is invalid.</summary>
    InvalidArgument = 2,

    /// <summary>The requested operation is not available on the target device.</summary>
    NotSupported = 3,

    /// <summary>The current user does not have permission for the operation.</summary>
    NoPermission = 4,

    /// <summary>Deprecated: multiple initializations are allowed through reference counting.</summary>
    AlreadyInitialized = 5,

    /// <summary>A query to find an object was unsuccessful.</summary>
    NotFound = 6,

    /// <summary>An input argument is not large enough.</summary>
    InsufficientSize = 7,

    /// <summary>A device's external power cables are not properly attached.</summary>
    InsufficientPower = 8,

    /// <summary>The NVIDIA driver is not loaded.</summary>
    DriverNotLoaded = 9,

    /// <summary>The user-provided timeout passed.</summary>
    Timeout = 10,

    /// <summary>The NVIDIA kernel detected an interrupt issue with a GPU.</summary>
    IrqIssue = 11,

    /// <summary>The NVML shared library could not be found or loaded.</summary>
    LibraryNotFound = 12,

    /// <summary>A function is not exported by the loaded NVML library.</summary>
    FunctionNotFound = 13,

    /// <summary>The infoROM is corrupted.</summary>
    CorruptedInforom = 14,

    /// <summary>The GPU has fallen off the bus or has otherwise become inaccessible.</summary>
    GpuIsLost = 15,

    /// <summary>The GPU requires a reset before it can be used again.</summary>
    ResetRequired = 16,

    /// <summary>The GPU control device has been blocked by the operating system or cgroups.</summary>
    OperatingSystem = 17,

    /// <summary>The NVML library does not match the loaded kernel module (RM).</summary>
    LibRmVersionMismatch = 18,

    /// <summary>The operation cannot be performed because the GPU is in use.</summary>
    InUse = 19,

    /// <summary>Insufficient memory.</summary>
    Memory = 20,

    /// <summary>No data.</summary>
    NoData = 21,

    /// <summary>The requested vGPU operation is not available because ECC is enabled.</summary>
    VgpuEccNotEnabled = 22,

    /// <summary>Ran out of critical resources, other than memory.</summary>
    InsufficientResources = 23,

    /// <summary>The requested frequency is not supported.</summary>
    FreqNotSupported = 24,

    /// <summary>The structure version passed in is not supported.</summary>
    ArgumentVersionMismatch = 25,

    /// <summary>The requested functionality has been deprecated.</summary>
    Deprecated = 26,

    /// <summary>The system is not ready for the request.</summary>
    NotReady = 27,

    /// <summary>No GPUs were found.</summary>
    GpuNotFound = 28,

    /// <summary>The resource is in an invalid state for the operation.</summary>
    InvalidState = 29,

    /// <summary>An internal driver error occurred.</summary>
    Unknown = 999,
}
