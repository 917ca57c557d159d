using System.Collections.Concurrent;
using ChitChat.Client;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Faults.Tests.Infrastructure;
using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Testing;
using Microsoft.Data.Sqlite;

namespace ChitChat.Faults.Tests;

/// <summary>
/// Two <c>samples/ChitChat.Web</c> processes on one SQLite file (several processes may write it: every write is a
/// <c>BEGIN IMMEDIATE</c> transaction that reads the file's own counters) and the Redis transport on a real redis-server.
/// Node A is killed with SIGKILL while two senders are sending; the clients that were on A (through a <see cref="TcpProxy"/>
/// that then points at node B) reconnect to B and resend their outboxes with the same client message ids.
/// </summary>
public sealed class NodeCrashTests : IAsyncLifetime
{
    private const string Room = "crash";
    private const int MessagesPerSender = 200;
    private const int InFlightPerSender = 8;

    private readonly RedisServerFixture _redis = RedisServerFixture.CreateUnstarted();
    private readonly TempDir _dir = new();
    private readonly Cleanup _cleanup = new();
    private readonly TaskCompletionSource _fortyAcknowledged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask InitializeAsync() => await _redis.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _cleanup.DisposeAsync();

        await _redis.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Every_acknowledged_message_reaches_every_receiver_once_in_order_after_a_node_is_killed_mid_traffic()
    {
        var database = Path.Combine(_dir.Path, "chitchat.db");
        var a = _cleanup.Track(await NodeProcess.StartWebAsync("node A", NodeProcess.WebSettings(database, _redis.ConnectionString)));
        var b = _cleanup.Track(await NodeProcess.StartWebAsync("node B", NodeProcess.WebSettings(database, _redis.ConnectionString)));
        var proxy = _cleanup.Track(new TcpProxy(a.Address));
        await Chat.RegisterAsync(b.Address, "alice", "carol", "bob", "dave");

        // Senders and bob go through the proxy (node A, then node B); dave stays on node B and sees A's messages over Redis.
        var alice = _cleanup.Track(Chat.Client(proxy.Address, "alice"));
        var carol = _cleanup.Track(Chat.Client(proxy.Address, "carol"));
        var bob = _cleanup.Track(Chat.Client(proxy.Address, "bob"));
        var dave = _cleanup.Track(Chat.Client(b.Address, "dave"));
        var bobStates = new StateRecorder(bob);
        foreach (var (client, name) in new[] { (alice, "alice"), (carol, "carol"), (bob, "bob"), (dave, "dave") })
        {
            await Chat.ConnectAsync(client, $"connect {name}");
        }

        await Wait.For(alice.CreateRoomAsync(Room), "create the room");
        await Wait.For(carol.JoinRoomAsync(Room), "carol joins");
        await Wait.For(alice.JoinRoomAsync(Room), "alice joins");
        var receivers = new[]
        {
            ("bob", new EventCollector(await Wait.For(bob.JoinRoomAsync(Room), "bob joins"))),
            ("dave", new EventCollector(await Wait.For(dave.JoinRoomAsync(Room), "dave joins"))),
        };

        var acknowledgedSoFar = new ConcurrentDictionary<string, SendMessageAck>();
        var sending = new[] { SendAllAsync(alice, "alice", acknowledgedSoFar), SendAllAsync(carol, "carol", acknowledgedSoFar) };

        await Wait.For(_fortyAcknowledged.Task, "40 messages are acknowledged before the crash");
        proxy.Upstream = b.Address; // new connections go to node B from now on
        a.Kill();
        var acknowledgedBeforeKill = acknowledgedSoFar.Count;
        Assert.True(acknowledgedBeforeKill < 2 * MessagesPerSender, "node A was killed after every send was acknowledged: the test did not kill it mid-traffic");
        Assert.Equal(137, a.ExitCode); // 128 + SIGKILL

        var acknowledged = await WaitAllAsync(sending, "the senders' outboxes drain on node B after node A was killed");
        var acks = acknowledged.SelectMany(s => s).ToDictionary(s => s.Text, s => s.Ack);
        Assert.Equal(2 * MessagesPerSender, acks.Count);
        var last = acks.Values.Max(a => a.Seq);

        // The store (the file both nodes wrote) is the ground truth: each send stored once, with its acknowledged id and seq.
        var stored = ReadStore(database);
        var twice = stored.GroupBy(m => m.Text).Where(g => g.Count() > 1).ToList();
        Assert.True(twice.Count == 0, "stored more than once: " + string.Join("; ", twice.Select(g =>
            $"'{g.Key}' acknowledged as seq {(acks.TryGetValue(g.Key, out var ack) ? ack.Seq : -1)}, stored as " + string.Join(", ", g.Select(m => $"seq {m.Seq} id {m.Id} key {m.ClientMessageId}")))));
        var storedByText = stored.ToDictionary(m => m.Text);
        foreach (var (text, ack) in acks)
        {
            Assert.True(storedByText.TryGetValue(text, out var row), $"the acknowledged '{text}' (seq {ack.Seq}) is not in the store");
            Assert.True(row.Id == ack.Id.ToString("D") && row.Seq == ack.Seq, $"'{text}' was acknowledged as (id {ack.Id}, seq {ack.Seq}) but stored as (id {row.Id}, seq {row.Seq})");
        }

        Assert.Equal(2 * MessagesPerSender, stored.Count);
        Assert.Equal(Enumerable.Range(1, (int)last).Select(s => (long)s), stored.Select(m => m.Seq));

        foreach (var (name, receiver) in receivers)
        {
            await Poll.UntilAsync(() => receiver.Seqs.Count > 0 && receiver.Seqs[^1] >= last, $"{name} received seq {last} (has [{string.Join(", ", receiver.Seqs)}])", TimeSpan.FromSeconds(90));

            // Exactly once, in seq order, no hole: what the store holds, nothing else.
            Assert.Equal(stored.Select(m => (m.Id, m.Seq, m.Text)), receiver.Messages.Select(m => (m.Id.ToString("D"), m.Seq, m.Text)));
        }

        // bob really moved: his client reconnected (to node B) after the kill.
        Assert.Contains(bobStates.Changes, c => c.State == ChitChatConnectionState.Connected && c.IsReconnect);

        // Each sender's messages were numbered in the order it sent them, across the crash.
        foreach (var sender in acknowledged)
        {
            var seqs = sender.Select(s => s.Ack.Seq).ToList();
            Assert.Equal(seqs.Order(), seqs);
        }

        Assert.False(b.HasExited, $"node B exited:\n{b.Output}");
    }

    /// <summary>Sends <see cref="MessagesPerSender"/> messages with up to <see cref="InFlightPerSender"/> in flight; returns the acks in call order.</summary>
    private async Task<List<(string Text, SendMessageAck Ack)>> SendAllAsync(ChitChatClient client, string name, ConcurrentDictionary<string, SendMessageAck> acks)
    {
        var window = new SemaphoreSlim(InFlightPerSender);
        var sends = new List<Task<SendMessageAck>>();
        var texts = new List<string>();
        for (var i = 0; i < MessagesPerSender; i++)
        {
            await window.WaitAsync();
            var text = $"{name}-{i:D3}";
            var send = client.SendAsync(Room, text);
            sends.Add(send);
            texts.Add(text);
            _ = send.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        acks[text] = t.Result;
                        if (acks.Count >= 40)
                        {
                            _fortyAcknowledged.TrySetResult(); // the test kills node A at once
                        }
                    }

                    window.Release();
                },
                TaskScheduler.Default);
        }

        var results = await Task.WhenAll(sends);
        return [.. texts.Zip(results)];
    }

    private static async Task<List<(string Text, SendMessageAck Ack)>[]> WaitAllAsync(Task<List<(string Text, SendMessageAck Ack)>>[] sending, string phase)
    {
        try
        {
            return await Task.WhenAll(sending).WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{phase}: not done within 120 s.");
        }
    }

    private static List<(string Id, long Seq, string Text, string? ClientMessageId)> ReadStore(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, seq, text, client_message_id FROM messages WHERE room = $room ORDER BY seq;";
        command.Parameters.AddWithValue("$room", Room);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, long, string, string?)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }
}
