using Drover.Nvml;

namespace Drover.Agent.Telemetry;

/// <summary>One sample's health inputs.</summary>
/// <param name="Error">The worst health error (<see cref="GpuHealthTable.IsHealthError"/>) any call of the sample answered; null when none did.</param>
/// <param name="UnknownStreak">Samples in a row, this one included, on which a call answered NVML_ERROR_UNKNOWN.</param>
/// <param name="Xids">The XIDs held for the GPU.</param>
/// <param name="ClockEventReasons">Why its clocks are held back now (none where unsupported).</param>
/// <param name="RemappedRows">Its row remapping at the last slow-field sample; null where unsupported.</param>
internal readonly record struct GpuHealthInputs(
    NvmlReturn? Error,
    int UnknownStreak,
    HeldXids Xids,
    GpuClockEventReasons ClockEventReasons = GpuClockEventReasons.None,
    GpuRemappedRows? RemappedRows = null);
