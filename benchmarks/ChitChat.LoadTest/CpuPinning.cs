using System.Diagnostics;

namespace ChitChat.LoadTest;

/// <summary>
/// Keeps the driver and the servers on separate CPUs, so that neither steals the other's cycles and the servers are
/// compared on equal, quiet cores. The driver re-executes itself under <c>taskset</c> (so every thread the runtime starts
/// inherits the affinity, which setting it later on a running .NET process does not achieve); servers are started under
/// <c>taskset</c> by <see cref="ServerProcess.Pinned"/>.
/// </summary>
internal static class CpuPinning
{
    private const string PinnedVariable = "CHITCHAT_LOADTEST_PINNED";
    private const string CpusVariable = "CHITCHAT_LOADTEST_CPUS";

    /// <summary>Gets the machine's CPU count (inside the pinned re-execution <see cref="Environment.ProcessorCount"/> is the driver's share).</summary>
    public static int MachineCpus =>
        int.TryParse(Environment.GetEnvironmentVariable(CpusVariable), System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : Environment.ProcessorCount;

    /// <summary>Gets whether this process is the pinned re-execution.</summary>
    public static bool IsPinned => Environment.GetEnvironmentVariable(PinnedVariable) == "1";

    /// <summary>Parses <c>--pin</c>: <c>off</c>, <c>auto</c> or <c>DRIVER:SERVER</c>; <see langword="null"/> for no pinning.</summary>
    public static (string Driver, string Server)? Parse(string value)
    {
        if (value == "off" || !OperatingSystem.IsLinux())
        {
            return null;
        }

        if (value == "auto")
        {
            var cpus = MachineCpus;
            if (cpus < 2)
            {
                return null;
            }

            var driver = cpus / 2;
            return (Range(0, driver - 1), Range(driver, cpus - 1));
        }

        var parts = value.Split(':');
        return parts.Length == 2 && parts[0].Length > 0 && parts[1].Length > 0
            ? (parts[0], parts[1])
            : throw new ArgumentException($"--pin '{value}': expected auto, off or DRIVER:SERVER (e.g. 0:1)");
    }

    /// <summary>Runs this same command again under <c>taskset -c <paramref name="driverCpus"/></c> and returns its exit code.</summary>
    public static async Task<int> ReexecPinnedAsync(string driverCpus, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("taskset") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(driverCpus);
        psi.ArgumentList.Add(Environment.ProcessPath!);
        var args = Environment.GetCommandLineArgs();
        // Under the `dotnet` host, [0] is the driver's dll and must be passed again; under the app host it is the app itself.
        var viaHost = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet";
        foreach (var arg in viaHost ? args : args.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment[PinnedVariable] = "1";
        psi.Environment[CpusVariable] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("taskset did not start (util-linux)");
        await child.WaitForExitAsync(ct);
        return child.ExitCode;
    }

    private static string Range(int first, int last) => first == last ? $"{first}" : $"{first}-{last}";
}
