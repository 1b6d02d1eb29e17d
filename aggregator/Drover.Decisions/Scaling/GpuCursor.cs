namespace Drover.Decisions.Scaling;

/// <summary>A read position in a <see cref="GpuRanking"/>: one in its sorted list and one in its moved list; default is the start.</summary>
internal struct GpuCursor
{
    public int Sorted { get; set; }

    public int Moved { get; set; }
}
