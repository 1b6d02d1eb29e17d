using System.Globalization;
using System.Text;

namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>How values and replies are shown in error messages: on one line, control characters escaped, shortened.</summary>
internal static class HaproxyText
{
    /// <summary>The most characters of a reply an error message shows.</summary>
    public const int MaxShown = 200;

    /// <summary>
    /// <paramref name="text"/> with line breaks and other control characters escaped (<c>\n</c>, <c>\x1B</c>),
    /// cut to <paramref name="max"/> characters with a note of the full length.
    /// </summary>
    public static string Printable(string text, int max = MaxShown)
    {
        var shown = new StringBuilder(Math.Min(text.Length, max) + 16);
        foreach (var c in text.AsSpan(0, Math.Min(text.Length, max)))
        {
            _ = c switch
            {
                '\n' => shown.Append("\\n"),
                '\r' => shown.Append("\\r"),
                '\t' => shown.Append("\\t"),
                _ when char.IsControl(c) => shown.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}"),
                _ => shown.Append(c),
            };
        }

        if (text.Length > max)
        {
            shown.Append(CultureInfo.InvariantCulture, $"… ({text.Length} characters in all)");
        }

        return shown.ToString();
    }
}
