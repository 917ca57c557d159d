using System.Diagnostics;
using ChitChat.Faults.Tests.Infrastructure;
using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Sqlite;
using Microsoft.Data.Sqlite;

namespace ChitChat.Faults.Tests;

/// <summary>
/// The replication sync worker (<c>samples/ChitChat.Worker</c>) copying a large backlog from a primary SQLite store into a
/// replica, killed with SIGKILL while it is applying batches and started again: each batch and its checkpoint commit in one
/// transaction, so the restarted worker resumes from the last committed batch and the replica converges with the primary
/// with no duplicate and no hole. Anti-entropy is off, so only the incremental sync's resume can make it converge.
/// </summary>
public sealed class SyncWorkerCrashTests : IDisposable
{
    private const int Rooms = 4;
    private const int MessagesPerRoom = 5_000;
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(120);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_replica_converges_with_the_primary_after_the_sync_worker_is_killed_mid_backlog_and_restarted()
    {
        var primary = Path.Combine(_dir.Path, "primary.db");
        var replica = Path.Combine(_dir.Path, "replica.db");
        await SeedAsync(primary, 0, MessagesPerRoom);
        var settings = new Dictionary<string, string>
        {
            ["ChitChat__Replication__Enabled"] = "true",
            ["ChitChat__Replication__Primary__Store"] = "Sqlite",
            ["ChitChat__Replication__Primary__ConnectionString"] = $"Data Source={primary}",
            ["ChitChat__Replication__Replicas__r1__Store"] = "Sqlite",
            ["ChitChat__Replication__Replicas__r1__ConnectionString"] = $"Data Source={replica}",
            ["ChitChat__Replication__BatchSize"] = "100",
            ["ChitChat__Replication__SyncInterval"] = "00:00:00.200",
            ["ChitChat__Replication__AntiEntropyInterval"] = "00:00:00", // off: convergence must come from the incremental sync
        };

        int atKill;
        await using (var worker = await NodeProcess.StartWorkerAsync("sync worker", settings))
        {
            // Kill it once the replica holds about a twentieth of the backlog (ten batches of 200; polled tightly).
            using var timeout = new CancellationTokenSource(PhaseTimeout);
            while (CountMessages(replica) < 1_000)
            {
                Assert.False(worker.HasExited, $"the sync worker exited before syncing:\n{worker.Output}");
                Assert.False(timeout.IsCancellationRequested, $"the sync worker copied nothing within {PhaseTimeout}:\n{worker.Output}");
                await Task.Delay(10); // polling interval, not a synchronization
            }

            worker.Kill();
            Assert.Equal(137, worker.ExitCode); // 128 + SIGKILL
            atKill = CountMessages(replica);
            TestContext.Current.TestOutputHelper?.WriteLine($"killed the sync worker (pid {worker.Id}) with {atKill} of {Rooms * MessagesPerRoom} messages on the replica");
        }

        Assert.True(atKill is > 0 and < Rooms * MessagesPerRoom, $"the worker was not killed mid-backlog: the replica held {atKill} of {Rooms * MessagesPerRoom} messages");

        // More primary writes while no worker runs, then a fresh worker process.
        await SeedAsync(primary, MessagesPerRoom, 100);
        var total = Rooms * (MessagesPerRoom + 100);
        await using (var worker = await NodeProcess.StartWorkerAsync("restarted sync worker", settings))
        {
            await Poll.UntilAsync(() => CountMessages(replica) >= total, $"the replica holds all {total} messages after the restart (sync worker output: {worker.Output})", PhaseTimeout);
            Assert.False(worker.HasExited, $"the restarted sync worker exited:\n{worker.Output}");
        }

        // Per room: the same (seq, id) list on both sides, 1..N without a hole; a duplicate would break the count.
        for (var room = 0; room < Rooms; room++)
        {
            var expected = ReadRoom(primary, Room(room));
            Assert.Equal(Enumerable.Range(1, MessagesPerRoom + 100).Select(s => (long)s), expected.Select(m => m.Seq));
            Assert.Equal(expected, ReadRoom(replica, Room(room)));
        }

        Assert.Equal(total, CountMessages(replica));

        // The shipped check agrees: `ChitChat.Worker verify` exits 0 when primary and replica are in sync.
        var verify = await RunVerifyAsync(settings);
        Assert.True(verify.ExitCode == 0, $"ChitChat.Worker verify exited with {verify.ExitCode}: {verify.Output}");
    }

    private static string Room(int index) => $"sync-{index}";

    /// <summary>Appends <paramref name="count"/> messages to each room of the primary (group commit: concurrent appends).</summary>
    private static async Task SeedAsync(string database, int offset, int count)
    {
        await using var store = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={database}" });
        await store.InitializeAsync();
        var author = Guid.NewGuid();
        var text = new string('x', 200);
        var appends = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            for (var room = 0; room < Rooms; room++)
            {
                appends.Add(store.Messages.AppendAsync(new NewMessage(Guid.NewGuid(), Room(room), author, "seeder", $"{offset + i} {text}", DateTimeOffset.UtcNow, $"seed-{offset + i}")));
            }
        }

        await Task.WhenAll(appends).WaitAsync(PhaseTimeout);
    }

    private static int CountMessages(string database)
    {
        if (!File.Exists(database))
        {
            return 0;
        }

        try
        {
            using var connection = Open(database);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM messages;";
            return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return 0; // not created yet (no schema) or locked while the worker creates it
        }
    }

    private static List<(long Seq, string Id)> ReadRoom(string database, string room)
    {
        using var connection = Open(database);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, id FROM messages WHERE room = $room ORDER BY seq;";
        command.Parameters.AddWithValue("$room", room);
        using var reader = command.ExecuteReader();
        var rows = new List<(long, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1)));
        }

        return rows;
    }

    private static SqliteConnection Open(string database)
    {
        var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    private static async Task<(int ExitCode, string Output)> RunVerifyAsync(IReadOnlyDictionary<string, string> settings)
    {
        var directory = Repository.SampleOutput("ChitChat.Worker");
        var start = new ProcessStartInfo(Path.Combine(directory, "ChitChat.Worker"))
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("verify");
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(PhaseTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ChitChat.Worker verify did not finish within {PhaseTimeout}");
        }

        return (process.ExitCode, await output + await error);
    }
}
