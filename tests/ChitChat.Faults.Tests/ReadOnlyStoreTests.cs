using System.Runtime.Versioning;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Faults.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.Faults.Tests;

/// <summary>
/// The SQLite store's database file made read-only (<c>chmod a-w</c>) under a node, then writable again. The node runs as
/// <c>nobody</c> (<c>setpriv</c>; the test needs root and is skipped with the reason otherwise) because root ignores file
/// modes. On Linux a file that is already open for writing stays writable through that descriptor (a chmod does not
/// reach it, and <c>mount -o remount,ro</c> is refused with EBUSY while the store holds the file open), so the fault is
/// made where it bites: the node is killed (SIGKILL), the file made read-only, and a new node process opens it. Sends
/// get <c>unavailable</c> over the hub, reads keep working, and after <c>chmod u+w</c> the same process accepts sends again.
/// </summary>
public sealed class ReadOnlyStoreTests : IAsyncLifetime
{
    private const string Room = "readonly";
    private readonly TempDir _dir = new();
    private readonly Cleanup _cleanup = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _cleanup.DisposeAsync();

        _dir.Dispose();
    }

    [Fact]
    [SupportedOSPlatform("linux")] // skipped elsewhere
    public async Task Sends_to_a_read_only_database_file_get_unavailable_and_work_again_without_a_restart_once_it_is_writable()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            Assert.Skip($"the read-only test runs the node as nobody with setpriv: it needs Linux, root and /usr/bin/setpriv (running as {Environment.UserName})");
        }

        // nobody must create the files (WAL and shared memory next to the database) and, later, not write the database.
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0b111_111_111);
        var database = Path.Combine(_dir.Path, "chitchat.db");
        var settings = NodeProcess.WebSettings(database, redis: null);
        settings["HOME"] = _dir.Path;

        var first = _cleanup.Track(await NodeProcess.StartWebAsync("node", settings, runAsNobody: true));
        await Chat.RegisterAsync(first.Address, "alice");
        var owner = _cleanup.Track(Chat.Client(first.Address, "alice"));
        await Chat.ConnectAsync(owner, "connect alice");
        await Wait.For(owner.CreateRoomAsync(Room), "create the room");
        var hub = _cleanup.Track(await Chat.HubAsync(first.Address, "alice"));
        var acked = new List<SendMessageAck>();
        for (var i = 0; i < 5; i++)
        {
            acked.Add(await SendAsync(hub, $"writable {i}"));
        }

        first.Kill();
        File.SetUnixFileMode(database, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var node = _cleanup.Track(await NodeProcess.StartWebAsync("node on the read-only file", settings, runAsNobody: true));
        var alice = _cleanup.Track(Chat.Client(node.Address, "alice"));
        await Chat.ConnectAsync(alice, "connect alice to the node on the read-only file (login only reads)");
        var readOnlyHub = _cleanup.Track(await Chat.HubAsync(node.Address, "alice"));
        for (var i = 0; i < 2; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => SendAsync(readOnlyHub, $"read-only {i}"));
            Assert.Contains($"HubException: {ChatErrorCodes.Unavailable}:", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(acked.Select(a => (a.Id, a.Seq)), (await Wait.HistoryAsync(alice, Room)).Select(m => (m.Id, m.Seq)));
        Assert.False(node.HasExited, $"the node exited on a read-only file:\n{node.Output}");

        File.SetUnixFileMode(database, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        for (var i = 0; i < 3; i++)
        {
            acked.Add(await SendAsync(readOnlyHub, $"writable again {i}"));
        }

        Assert.Equal(acked.Select(a => (a.Id, a.Seq)), (await Wait.HistoryAsync(alice, Room)).Select(m => (m.Id, m.Seq)));
        Assert.Equal(Enumerable.Range(1, acked.Count).Select(s => (long)s), acked.Select(a => a.Seq));
    }

    private static Task<SendMessageAck> SendAsync(HubConnection hub, string text) =>
        Wait.For(hub.InvokeAsync<SendMessageAck>(HubMethods.SendMessage, Room, text, "c-" + Guid.NewGuid().ToString("N")), $"send '{text}'");
}
