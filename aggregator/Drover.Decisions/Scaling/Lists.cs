using System.Runtime.InteropServices;

namespace Drover.Decisions.Scaling;

/// <summary>
/// The snapshot's lists as spans. A pass reads 80 000 GPUs through <see cref="IReadOnlyList{T}"/>;
/// through the interface that costs about five times what the same loop over an array does, and the
/// lists are arrays or <see cref="List{T}"/> in practice.
/// </summary>
internal static class Lists
{
    /// <summary>The list's items: its own storage when it is an array or a <see cref="List{T}"/>, else a copy.</summary>
    public static ReadOnlySpan<T> Span<T>(IReadOnlyList<T> list)
        => list switch
        {
            T[] array => array,
            List<T> items => CollectionsMarshal.AsSpan(items),
            _ => list.ToArray(),
        };

    /// <summary>As <see cref="Span{T}(IReadOnlyList{T})"/>, copying into <paramref name="scratch"/> (grown when short) rather than a new array.</summary>
    public static ReadOnlySpan<T> Span<T>(IReadOnlyList<T> list, ref T[] scratch)
    {
        if (list is T[] array)
        {
            return array;
        }

        if (list is List<T> items)
        {
            return CollectionsMarshal.AsSpan(items);
        }

        if (scratch.Length < list.Count)
        {
            scratch = new T[list.Count];
        }

        for (var i = 0; i < list.Count; i++)
        {
            scratch[i] = list[i];
        }

        return scratch.AsSpan(0, list.Count);
    }

    /// <summary>The list as an array: itself when it is one, else a copy.</summary>
    public static T[] Array<T>(IReadOnlyList<T> list) => list as T[] ?? [.. list];
}
