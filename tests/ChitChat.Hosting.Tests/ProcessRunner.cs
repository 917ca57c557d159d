using System.Diagnostics;
using System.Text;

namespace ChitChat.Hosting.Tests;

/// <summary>Runs the <c>dotnet</c> CLI as a user would, isolated from the test host's own MSBuild and ChitChat environment.</summary>
internal static class ProcessRunner
{
    /// <summary>Creates the start info of a <c>dotnet</c> command in <paramref name="workingDirectory"/>.</summary>
    public static ProcessStartInfo Dotnet(string workingDirectory, params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        // The test runs inside a build of this repository: none of its MSBuild or ChitChat settings may leak into the user's project.
        foreach (var name in psi.Environment.Keys.ToArray())
        {
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ChitChat__", StringComparison.OrdinalIgnoreCase)
                || name is "MSBUILD_EXE_PATH" or "DOTNET_HOST_PATH" or "ASPNETCORE_ENVIRONMENT" or "DOTNET_ENVIRONMENT" or "ASPNETCORE_URLS")
            {
                psi.Environment.Remove(name);
            }
        }

        // No build servers or reused nodes: nothing may outlive the command and hold its output pipes open.
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["UseSharedCompilation"] = "false";
        psi.Environment["UseRazorBuildServer"] = "false";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        return psi;
    }

    /// <summary>Runs a command to its end and returns its output; fails the test, with the output, when it exits with an error.</summary>
    public static async Task<string> RunAsync(ProcessStartInfo psi, string phase, TimeSpan timeout)
    {
        using var process = new Process { StartInfo = psi };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        Assert.True(process.Start(), $"{phase}: could not start dotnet");
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{phase}: did not finish within {timeout}.\n{Text(output)}");
        }

        Assert.True(process.ExitCode == 0, $"{phase}: dotnet {string.Join(' ', psi.ArgumentList)} exited with {process.ExitCode}.\n{Text(output)}");
        return Text(output);
    }

    public static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    public static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
