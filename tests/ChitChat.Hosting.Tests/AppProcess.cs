using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace ChitChat.Hosting.Tests;

/// <summary>
/// A user's ChitChat app started with <c>dotnet run --no-build</c> on <c>http://127.0.0.1:0</c>, with a signing key and cheap
/// password hashing from the environment; its address is read from Kestrel's "Now listening on" line. Dispose kills it.
/// </summary>
internal sealed partial class AppProcess : IAsyncDisposable
{
    public const string SigningKey = "chitchat-hosting-tests-signing-key-0123456789abcdef";

    private readonly Process _process;
    private readonly StringBuilder _output;

    private AppProcess(Process process, StringBuilder output, Uri address)
    {
        _process = process;
        _output = output;
        Address = address;
    }

    /// <summary>Gets the address the app listens on, with a trailing slash.</summary>
    public Uri Address { get; }

    /// <summary>Gets everything the app wrote so far, standard output and error.</summary>
    public string Output => ProcessRunner.Text(_output);

    /// <summary>Starts the built project in <paramref name="projectDirectory"/>; fails the test, with the app's output, when it does not listen within <paramref name="timeout"/>.</summary>
    public static async Task<AppProcess> StartAsync(string projectDirectory, string name, TimeSpan timeout)
    {
        var run = ProcessRunner.Dotnet(projectDirectory, "run", "--no-build", "--", "--urls", "http://127.0.0.1:0");
        run.Environment["ChitChat__Auth__SigningKey"] = SigningKey;
        run.Environment["ChitChat__PasswordHashIterations"] = "1000";
        var server = new Process { StartInfo = run };
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) =>
        {
            ProcessRunner.Append(output, e.Data);
            if (e.Data is not null && ListeningOn().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
            }
        };
        server.ErrorDataReceived += (_, e) => ProcessRunner.Append(output, e.Data);
        server.EnableRaisingEvents = true;
        server.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"{name} exited before listening"));
        if (!server.Start())
        {
            server.Dispose();
            Assert.Fail($"start of {name}: could not start dotnet run");
        }

        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            return new AppProcess(server, output, await listening.Task.WaitAsync(timeout));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            // Give the output of an early exit (e.g. the start-up exception) a moment to be read fully.
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
            await StopAsync(server);
            Assert.Fail($"start of {name}: {(ex is TimeoutException ? $"not listening within {timeout}" : ex.Message)}.\n{ProcessRunner.Text(output)}");
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(_process);

    private static async Task StopAsync(Process process)
    {
        using (process)
        {
            if (!process.HasExited)
            {
                // dotnet run starts the app as a child process: kill the tree.
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
