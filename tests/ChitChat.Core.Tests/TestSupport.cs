using System.Collections.Concurrent;
using ChitChat.InMemory;
using ChitChat.Security;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChitChat.Core.Tests;

/// <summary>Timeouts for every await in these tests: generous, because the machine is shared and noisy.</summary>
internal static class Wait
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Task<T> Timed<T>(this Task<T> task) => task.WaitAsync(Timeout, TestContext.Current.CancellationToken);

    public static Task Timed(this Task task) => task.WaitAsync(Timeout, TestContext.Current.CancellationToken);

    public static Task<T> Timed<T>(this ValueTask<T> task) => task.AsTask().Timed();

    public static Task Timed(this ValueTask task) => task.AsTask().Timed();

    /// <summary>Runs <paramref name="action"/>, asserts it fails with a <see cref="ChatException"/> of <paramref name="code"/>, and returns it.</summary>
    public static async Task<ChatException> ChatErrorAsync(string code, Func<Task> action)
    {
        var ex = await Assert.ThrowsAsync<ChatException>(action).Timed();
        Assert.Equal(code, ex.Code);
        return ex;
    }
}

/// <summary>A transport that records every published event (and can be told to fail).</summary>
internal sealed class RecordingTransport : IChatTransport
{
    private readonly ConcurrentQueue<RoomEvent> _published = new();

    public string Name => "recording";

    public TransportStatus Status => TransportStatus.Healthy;

    public bool Fail { get; set; }

    public IReadOnlyList<RoomEvent> Published => _published.ToArray();

    public IReadOnlyList<T> PublishedOf<T>()
        where T : RoomEvent => _published.OfType<T>().ToArray();

    public ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
    {
        if (Fail)
        {
            throw new InvalidOperationException("The transport is down (test).");
        }

        _published.Enqueue(roomEvent);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The services never subscribe.");
}

/// <summary>Wraps a hasher and records the hashes it was asked to verify against.</summary>
internal sealed class RecordingHasher(IPasswordHasher inner) : IPasswordHasher
{
    private readonly ConcurrentQueue<string> _verified = new();

    public IReadOnlyList<string> VerifiedHashes => _verified.ToArray();

    public string Hash(string password) => inner.Hash(password);

    public bool Verify(string hash, string password)
    {
        _verified.Enqueue(hash);
        return inner.Verify(hash, password);
    }
}

/// <summary>
/// ChitChat's services wired the way <c>AddChitChat</c> wires them (real in-memory store, presence, hasher and metrics),
/// with a <see cref="RecordingTransport"/> instead of the in-process one. The helpers that take names as strings parse
/// them the way a host does (<see cref="RoomName.Parse"/> where the name comes in), then call the service.
/// </summary>
internal sealed class ChatHarness : IAsyncDisposable
{
    private ChatHarness(ServiceProvider services)
    {
        Services = services;
        Accounts = services.GetRequiredService<AccountService>();
        Rooms = services.GetRequiredService<RoomService>();
        Sender = services.GetRequiredService<MessageSender>();
        History = services.GetRequiredService<HistoryService>();
        Presence = services.GetRequiredService<PresenceService>();
        Transport = services.GetRequiredService<IChatTransport>() as RecordingTransport ?? new RecordingTransport();
        Store = services.GetRequiredService<ChitChat.Storage.IChatStore>() as InMemoryChatStore ?? new InMemoryChatStore();
    }

    public ServiceProvider Services { get; }

    public AccountService Accounts { get; }

    public RoomService Rooms { get; }

    public MessageSender Sender { get; }

    public HistoryService History { get; }

    public PresenceService Presence { get; }

    /// <summary>Gets the recording transport (a detached one when a test replaced the transport).</summary>
    public RecordingTransport Transport { get; }

    /// <summary>Gets the in-memory store (a detached one when a test replaced the store).</summary>
    public InMemoryChatStore Store { get; }

    public static async Task<ChatHarness> CreateAsync(Action<ChitChatOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddChitChat(o =>
        {
            o.PasswordHashIterations = 1000; // fast tests; production uses 600,000
            o.SendRateLimit = 0;
            configure?.Invoke(o);
        });
        collection.RemoveAll<IChatTransport>();
        collection.AddSingleton<IChatTransport, RecordingTransport>();
        services?.Invoke(collection);
        var provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var harness = new ChatHarness(provider);
        await harness.Rooms.EnsureDefaultRoomAsync().Timed();
        return harness;
    }

    /// <summary>Registers a user and returns the identity a host would derive from their token.</summary>
    public async Task<ChatIdentity> UserAsync(string userName, string password = "correct horse")
    {
        var user = await Accounts.RegisterAsync(new RegisterRequest(userName, password)).Timed();
        return new ChatIdentity(user.Id, user.UserName);
    }

    /// <summary>Sends as a host does: the room parsed from the argument, then <see cref="MessageSender.SendAsync"/>. The
    /// send (and its turn of <paramref name="order"/>) starts before this returns.</summary>
    public Task<AppendResult> SendAsync(ChatIdentity author, string? room, string? text, string? clientMessageId, SendOrder? order = null, CancellationToken cancellationToken = default)
    {
        RoomName name;
        try
        {
            name = RoomName.Parse(room);
        }
        catch (ChatException ex)
        {
            return Task.FromException<AppendResult>(ex);
        }

        return Sender.SendAsync(author, new SendMessageRequest(name, text, clientMessageId), order, cancellationToken);
    }

    /// <summary>Creates a room as the HTTP API does: the name parsed as the field <c>name</c>, then <see cref="RoomService.CreateAsync"/>.</summary>
    public async Task<ChatRoom> CreateRoomAsync(string? name, ChatIdentity creator) =>
        await Rooms.CreateAsync(RoomName.Parse(name, "name"), creator);

    public Task<long> LastSeqAsync(string room = "global") => Store.Messages.GetLastSeqAsync(room).Timed();

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
