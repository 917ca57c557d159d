using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ChitChat.LoadTest.Tests;

/// <summary>The driver's per-delivery step: two numbers read from a record's text, nothing deserialized.</summary>
public sealed class RawRecordTests
{
    [Fact]
    public void Reads_index_and_timestamp_from_any_targets_message_record()
    {
        var chitChat = """{"type":1,"target":"message","arguments":[{"id":"0b5f","room":"r","authorName":"a","text":"42|987654321|load test message","seq":43}]}"""u8;
        Assert.True(RawHubConnection.TryReadIndexAndTimestamp(chitChat, out var index, out var sentAt));
        Assert.Equal(42, index);
        Assert.Equal(987654321L, sentAt);
    }

    [Theory]
    [InlineData("""{"type":1,"target":"message","arguments":[{"room":"r"}]}""")]
    [InlineData("""{"type":1,"target":"message","arguments":[{"text":"hello"}]}""")]
    [InlineData("""{"type":1,"target":"message","arguments":[{"text":"12|abc|x"}]}""")]
    [InlineData("""{"type":1,"target":"message","arguments":[{"text":"12|34"}]}""")]
    public void Refuses_a_record_without_the_drivers_numbers(string record)
    {
        Assert.False(RawHubConnection.TryReadIndexAndTimestamp(Encoding.UTF8.GetBytes(record), out _, out _));
    }
}

/// <summary>The load tool run as a real process, as `benchmarks/run-all.sh` runs it, in short versions.</summary>
public sealed class LoadToolRunTests
{
    [Fact]
    public async Task Soak_short_version_delivers_every_message_exactly_once_and_samples_memory()
    {
        using var run = await LoadTool.RunAsync(
            "--scenario", "soak", "--targets", "chitchat", "--connections", "200", "--soak-rooms", "10", "--senders", "4",
            "--soak-rate", "40", "--duration", "8");
        var soak = Assert.Single(run.Json.RootElement.GetProperty("soaks").EnumerateArray());
        var expected = soak.GetProperty("Expected").GetInt64();
        Assert.Equal(200L / 10 * (40 * 8), expected); // 20 receivers per room x 320 messages over the rooms
        Assert.Equal(expected, soak.GetProperty("Delivered").GetInt64());
        Assert.Equal(0, soak.GetProperty("Lost").GetInt64());
        Assert.Equal(0, soak.GetProperty("Duplicates").GetInt64());
        Assert.NotEmpty(soak.GetProperty("RssSamples").EnumerateArray());
        Assert.Equal(10, soak.GetProperty("P99ByWindowMs").GetArrayLength());
    }

    [Fact]
    public async Task Fanout_smoke_of_every_target_counts_every_delivery()
    {
        using var run = await LoadTool.RunAsync(
            "--scenario", "fanout", "--receivers", "5", "--senders", "2", "--messages", "300", "--warmup", "20",
            "--warmup-seconds", "0", "--repeat", "1");
        var results = run.Json.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["ChitChat", "SignalR", "WebSocket"], results.Select(r => r.GetProperty("Spec").GetProperty("Target").ToString()).Order());
        foreach (var r in results)
        {
            Assert.Equal(5L * 300, r.GetProperty("Deliveries").GetInt64());
            Assert.Equal(0, r.GetProperty("Lost").GetInt64());
            Assert.Equal(0, r.GetProperty("Duplicates").GetInt64());
        }
    }
}

/// <summary>The mixed scenario: edits and reactions are room events counted by seq like messages.</summary>
public sealed class MixedScenarioTests
{
    [Fact]
    public async Task Mixed_sends_reactions_and_edits_each_take_one_seq_and_reach_every_receiver_once()
    {
        using var run = await LoadTool.RunAsync(
            "--scenario", "mixed", "--receivers", "4", "--senders", "2", "--messages", "400", "--warmup", "20",
            "--warmup-seconds", "0", "--repeat", "1");
        var result = Assert.Single(run.Json.RootElement.GetProperty("results").EnumerateArray());
        Assert.Equal("mixed", result.GetProperty("Spec").GetProperty("Scenario").GetString());
        Assert.Equal(4L * 400, result.GetProperty("Deliveries").GetInt64()); // an operation without a seq of its own would leave a hole
        Assert.Equal(0, result.GetProperty("Lost").GetInt64());
        Assert.Equal(0, result.GetProperty("Duplicates").GetInt64());
        Assert.InRange(result.GetProperty("Reactions").GetInt64(), 1, 400 * 3 / 20);
        Assert.InRange(result.GetProperty("Edits").GetInt64(), 1, 400 / 20);
    }
}

/// <summary>Runs the built load tool (benchmarks/ChitChat.LoadTest, this test's configuration) in a temp output directory.</summary>
internal sealed class LoadTool : IDisposable
{
    private readonly string _out;

    private LoadTool(string outDir, JsonDocument json)
    {
        _out = outDir;
        Json = json;
    }

    public JsonDocument Json { get; }

    public static async Task<LoadTool> RunAsync(params string[] args)
    {
        var testBin = AppContext.BaseDirectory; // tests/ChitChat.LoadTest.Tests/bin/<cfg>/net10.0/
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(testBin)).Parent!.Name;
        var root = new DirectoryInfo(testBin);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ChitChat.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var dll = Path.Combine(root.FullName, "benchmarks", "ChitChat.LoadTest", "bin", configuration, "net10.0", "ChitChat.LoadTest.dll");
        Assert.True(File.Exists(dll), $"the load tool is not built: {dll}");
        var outDir = Directory.CreateTempSubdirectory("chitchat-loadtool-").FullName;
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args.Concat(["--pin", "off", "--configuration", configuration, "--out", outDir]))
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(4), TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the load tool did not finish within 4 minutes:\n{await stderr}");
        }

        var log = $"exit {process.ExitCode}\n{await stdout}\n{await stderr}";
        Assert.True(process.ExitCode == 0, log);
        var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "results.json"), TestContext.Current.CancellationToken));
        return new LoadTool(outDir, json);
    }

    public void Dispose()
    {
        Json.Dispose();
        Directory.Delete(_out, recursive: true);
    }
}
