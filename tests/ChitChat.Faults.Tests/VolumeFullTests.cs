using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Faults.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.Faults.Tests;

/// <summary>
/// The SQLite store's file on a full volume: a 4 MB tmpfs (<c>mount -t tmpfs -o size=4m</c>, so the test needs root; it
/// is skipped with the reason otherwise) filled with a filler file. Sends get <c>unavailable</c> over the hub, the node
/// stays up, nothing acknowledged is lost, and once the filler is deleted sends work again on the same node process;
/// every acknowledged message is still there after the node is then killed and started again on the same file.
/// </summary>
public sealed class VolumeFullTests : IAsyncLifetime
{
    private const string Room = "full";
    private const int MaxSendsUntilFull = 5_000;

    private readonly Cleanup _cleanup = new();
    private SmallVolume? _volume;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _cleanup.DisposeAsync();

        _volume?.Dispose();
    }

    [Fact]
    public async Task Sends_on_a_full_volume_get_unavailable_and_work_again_without_a_restart_once_space_is_freed()
    {
        _volume = SmallVolume.TryMount(4, out var problem);
        if (_volume is null)
        {
            Assert.Skip(problem!);
        }

        var settings = NodeProcess.WebSettings(Path.Combine(_volume.Path, "chitchat.db"), redis: null);
        var node = _cleanup.Track(await NodeProcess.StartWebAsync("node", settings));
        await Chat.RegisterAsync(node.Address, "alice");
        var alice = _cleanup.Track(Chat.Client(node.Address, "alice"));
        await Chat.ConnectAsync(alice, "connect alice");
        await Wait.For(alice.CreateRoomAsync(Room), "create the room");
        var limits = await Wait.For(alice.GetLimitsAsync(), "read the limits");
        var hub = _cleanup.Track(await Chat.HubAsync(node.Address, "alice"));

        var acked = new List<(string Text, SendMessageAck Ack)>();
        for (var i = 0; i < 10; i++)
        {
            acked.Add(await SendAsync(hub, $"before full {i}", limits.MaxMessageLength));
        }

        _volume.Fill();

        await SendUntilUnavailableAsync(hub, acked, limits.MaxMessageLength);

        // It stays unavailable (not a crash, not another error) while the volume is full, and reads still work.
        var again = await Assert.ThrowsAsync<HubException>(() => SendAsync(hub, "still full", limits.MaxMessageLength));
        Assert.Contains($"HubException: {ChatErrorCodes.Unavailable}:", again.Message, StringComparison.Ordinal);
        Assert.False(node.HasExited, $"the node exited on a full volume:\n{node.Output}");

        // The HTTP API says the same: 503 with the code and a Retry-After.
        using (var http = new HttpClient { BaseAddress = node.Address, Timeout = Wait.Timeout })
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", await Chat.TokenAsync(node.Address, "alice"));
            using var response = await http.PostAsJsonAsync(ChitChatRoutes.Messages(Room).TrimStart('/'), new SendMessageBody("over http", "c-http"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"HTTP send on a full volume: {(int)response.StatusCode} {body}");
            Assert.NotNull(response.Headers.RetryAfter);
            using var json = JsonDocument.Parse(body);
            Assert.Equal(ChatErrorCodes.Unavailable, json.RootElement.GetProperty("code").GetString());
        }

        AssertAcknowledgedStored(acked, await Wait.HistoryAsync(alice, Room), "on the full volume");

        // Space is back: the same process accepts sends again.
        _volume.Free();
        for (var i = 0; i < 5; i++)
        {
            acked.Add(await SendAsync(hub, $"after free {i}", limits.MaxMessageLength));
        }

        AssertAcknowledgedStored(acked, await Wait.HistoryAsync(alice, Room), "after space was freed");

        // Full again, and the node is killed (SIGKILL) while it is: a node restarted on the full volume starts, serves
        // reads (every acknowledged message is there) and refuses sends with unavailable until space is freed.
        _volume.Fill();
        await SendUntilUnavailableAsync(hub, acked, limits.MaxMessageLength);
        node.Kill();
        var restarted = _cleanup.Track(await NodeProcess.StartWebAsync("node restarted on the full volume", settings));
        var reader = _cleanup.Track(Chat.Client(restarted.Address, "alice"));
        await Chat.ConnectAsync(reader, "connect alice to the node restarted on the full volume");
        AssertAcknowledgedStored(acked, await Wait.HistoryAsync(reader, Room), "after the node was killed and restarted on the full volume");
        var restartedHub = _cleanup.Track(await Chat.HubAsync(restarted.Address, "alice"));
        var refused = await Assert.ThrowsAsync<HubException>(() => SendAsync(restartedHub, "full after the restart", limits.MaxMessageLength));
        Assert.Contains($"HubException: {ChatErrorCodes.Unavailable}:", refused.Message, StringComparison.Ordinal);

        _volume.Free();
        acked.Add(await SendAsync(restartedHub, "after the second free", limits.MaxMessageLength));
        AssertAcknowledgedStored(acked, await Wait.HistoryAsync(reader, Room), "after space was freed under the restarted node");
    }

    /// <summary>Sends until a send gets a hub error (the volume is full); it must be <c>unavailable</c>. Acknowledged sends are recorded.</summary>
    private static async Task<HubException> SendUntilUnavailableAsync(HubConnection hub, List<(string Text, SendMessageAck Ack)> acked, int maxLength)
    {
        // The WAL may still have room for a few commits; the first write that needs a new page fails.
        for (var i = 0; i < MaxSendsUntilFull; i++)
        {
            try
            {
                acked.Add(await SendAsync(hub, $"while full {i}", maxLength));
            }
            catch (HubException ex)
            {
                Assert.Contains($"HubException: {ChatErrorCodes.Unavailable}:", ex.Message, StringComparison.Ordinal);
                return ex;
            }
        }

        Assert.Fail($"{MaxSendsUntilFull} sends on a full volume were all acknowledged");
        throw new InvalidOperationException();
    }

    /// <summary>Sends a message of the largest allowed size (the volume fills fast) over the raw hub: its error, if any, reaches the test.</summary>
    private static async Task<(string Text, SendMessageAck Ack)> SendAsync(HubConnection hub, string label, int maxLength)
    {
        var text = (label + " ").PadRight(Math.Min(maxLength, 4000), 'x');
        var ack = await Wait.For(hub.InvokeAsync<SendMessageAck>(HubMethods.SendMessage, Room, text, "c-" + Guid.NewGuid().ToString("N")), $"send '{label}'");
        return (text, ack);
    }

    /// <summary>Every acknowledged message is in the history with its id and seq, and the history has no hole and no duplicate.</summary>
    private static void AssertAcknowledgedStored(List<(string Text, SendMessageAck Ack)> acked, List<MessageDto> history, string phase)
    {
        Assert.Equal(Enumerable.Range(1, history.Count).Select(s => (long)s), history.Select(m => m.Seq));
        var bySeq = history.ToDictionary(m => m.Seq);
        foreach (var (text, ack) in acked)
        {
            Assert.True(bySeq.TryGetValue(ack.Seq, out var message) && message.Id == ack.Id && message.Text == text, $"{phase}: acknowledged seq {ack.Seq} is missing or different");
        }

        Assert.Equal(acked.Count, history.Count);
    }
}
