using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Faults.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.Faults.Tests;

/// <summary>
/// The SQLite store's file system fails under a running node: a loop-mounted ext4 image with <c>errors=remount-ro</c>
/// (needs root and loop devices; skipped with the reason otherwise) on which the test triggers an ext4 error, so the kernel
/// turns it read-only with the store's files open, as it does on a disk's I/O errors. Writes then fail with I/O errors:
/// sends get <c>unavailable</c>, the node stays up and still serves reads. Such a file system cannot be made writable while
/// mounted, so recovery is the operator's: kill the node, check and remount the file system, start a node on it; every
/// acknowledged message is there.
/// </summary>
public sealed class IoErrorTests : IAsyncLifetime
{
    private const string Room = "ioerror";
    private readonly Cleanup _cleanup = new();
    private SmallVolume? _volume;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _cleanup.DisposeAsync();

        _volume?.Dispose();
    }

    [Fact]
    public async Task Sends_after_the_file_system_turned_read_only_on_an_error_get_unavailable_and_nothing_acknowledged_is_lost()
    {
        _volume = SmallVolume.TryMountExt4(16, out var problem);
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
        var hub = _cleanup.Track(await Chat.HubAsync(node.Address, "alice"));
        var acked = new List<SendMessageAck>();
        for (var i = 0; i < 10; i++)
        {
            acked.Add(await SendAsync(hub, $"before the error {i}"));
        }

        _volume.TriggerFileSystemError();

        for (var i = 0; i < 3; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => SendAsync(hub, $"after the error {i}"));
            Assert.Contains($"HubException: {ChatErrorCodes.Unavailable}:", refused.Message, StringComparison.Ordinal);
        }

        Assert.False(node.HasExited, $"the node exited on an I/O error:\n{node.Output}");
        Assert.Equal(acked.Select(a => (a.Id, a.Seq)), (await Wait.HistoryAsync(alice, Room)).Select(m => (m.Id, m.Seq)));

        // The operator's recovery: stop the node, check and remount the file system, start the node again.
        node.Kill();
        _volume.Remount();
        var restarted = _cleanup.Track(await NodeProcess.StartWebAsync("restarted node", settings));
        var reader = _cleanup.Track(Chat.Client(restarted.Address, "alice"));
        await Chat.ConnectAsync(reader, "connect alice to the restarted node");
        Assert.Equal(acked.Select(a => (a.Id, a.Seq)), (await Wait.HistoryAsync(reader, Room)).Select(m => (m.Id, m.Seq)));
        var restartedHub = _cleanup.Track(await Chat.HubAsync(restarted.Address, "alice"));
        Assert.Equal(acked.Count + 1, (await SendAsync(restartedHub, "after the recovery")).Seq);
    }

    private static Task<SendMessageAck> SendAsync(HubConnection hub, string text) =>
        Wait.For(hub.InvokeAsync<SendMessageAck>(HubMethods.SendMessage, Room, text, "c-" + Guid.NewGuid().ToString("N")), $"send '{text}'");
}
