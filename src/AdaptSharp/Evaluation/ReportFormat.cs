using System.Globalization;

namespace AdaptSharp.Evaluation;

/// <summary>
/// How every report (eval's report.md, the demo's and the study's) writes numbers: invariant culture always, so a
/// report reads the same on every machine, and "-" for a number that is missing.
/// </summary>
internal static class ReportFormat
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    /// <summary>A fraction as a percentage with <paramref name="decimals"/> digits ("12.3%"; without the sign: "12.3").</summary>
    public static string Percent(double? fraction, int decimals = 1, bool sign = true) =>
        fraction is double f && !double.IsNaN(f)
            ? (100.0 * f).ToString("0." + new string('0', decimals), Culture) + (sign ? "%" : "")
            : "-";

    /// <summary>A number with up to five decimals ("0.03137").</summary>
    public static string Number(double v) => v.ToString("0.#####", Culture);

    /// <summary>A difference of fractions in percentage points ("4.5 pts").</summary>
    public static string PercentPoints(double fraction) => (100.0 * fraction).ToString("0.0", Culture) + " pts";

    public static string Size(long bytes) => bytes >= 1 << 20
        ? (bytes / (1024.0 * 1024)).ToString("0.00", Culture) + " MiB"
        : (bytes / 1024.0).ToString("0.0", Culture) + " KiB";

    public static string Minutes(double seconds) => double.IsNaN(seconds) ? "-" : (seconds / 60).ToString("0.0", Culture) + " min";

    /// <summary>Seconds below two minutes ("12.3 s"), h:mm:ss above.</summary>
    public static string Duration(double seconds) => seconds < 120
        ? seconds.ToString("0.0", Culture) + " s"
        : TimeSpan.FromSeconds(seconds).ToString(@"h\:mm\:ss", Culture);

    /// <summary>How many parameters a method trains: "12,345 (1.23%)".</summary>
    public static string TrainedParameters(long trainable, double percent) => string.Create(Culture, $"{trainable:N0} ({percent:0.00}%)");

    /// <summary>A count with thousands separators ("12,345").</summary>
    public static string Count(long n) => n.ToString("N0", Culture);

    /// <summary>Text for one markdown table cell: no column breaks, no line breaks.</summary>
    public static string Cell(string text) => text.Replace("|", "\\|").Replace("\n", " ");
}
