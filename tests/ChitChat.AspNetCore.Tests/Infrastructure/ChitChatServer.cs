using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using ChitChat.Testing;

namespace ChitChat.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A ChitChat web host on real Kestrel (127.0.0.1, a free port), wired as the README's quick start does
/// (<c>builder.AddChitChat().AddAspNetCore()</c>, <c>UseChitChat</c>, <c>MapChitChat</c>) and configured through settings
/// like a user would. It references no sample.
/// </summary>
public sealed class ChitChatServer : IAsyncDisposable
{
    public const string SigningKey = LoopbackHost.SigningKey;

    private static int s_users;
    private readonly WebApplication _app;

    private ChitChatServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>Starts a server. Defaults: in-memory store, a fixed signing key, fast password hashing, no rate limits.</summary>
    public static ChitChatServer Start(IReadOnlyDictionary<string, string?>? overrides = null, string environment = "Development", Action<IServiceCollection>? services = null)
    {
        var builder = LoopbackHost.CreateBuilder(overrides, environment);
        builder.AddChitChat().AddAspNetCore();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseChitChat();
        app.MapChitChat();
        return new ChitChatServer(app, LoopbackHost.StartAsync(app).GetAwaiter().GetResult());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Timeouts.Default);
        await _app.DisposeAsync();
    }

    public HttpClient Http(string? token = null) => LoopbackHost.Http(BaseAddress, token);

    /// <summary>Registers and logs in a fresh user.</summary>
    public async Task<TestUser> NewUserAsync(string prefix = "user")
    {
        var name = $"{prefix}{Interlocked.Increment(ref s_users)}_{Guid.NewGuid().ToString("N")[..6]}";
        using var http = Http();
        using var register = await http.PostAsJsonAsync("/api/auth/register", new { userName = name, password = "password123" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { userName = name, password = "password123" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = await login.Content.ReadFromJsonAsync<JsonElement>(Json).WaitAsync(Timeouts.Default);
        return new TestUser(this, body.GetProperty("user").GetProperty("id").GetGuid(), name, body.GetProperty("accessToken").GetString()!);
    }

    /// <summary>Creates a room with a unique name.</summary>
    public async Task<string> NewRoomAsync(TestUser owner, string prefix = "room")
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";
        using var http = Http(owner.Token);
        using var response = await http.PostAsJsonAsync("/api/rooms", new { name }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    public HubConnection Hub(Func<Task<string?>> accessToken) =>
        new HubConnectionBuilder()
            .WithUrl(new Uri(BaseAddress, "/hubs/chat"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = false;
                o.AccessTokenProvider = accessToken;
            })
            .Build();
}

public sealed record TestUser(ChitChatServer Server, Guid Id, string UserName, string Token)
{
    public HttpClient Http() => Server.Http(Token);

    /// <summary>Connects a hub client whose events are recorded.</summary>
    public async Task<HubClient> ConnectAsync()
    {
        var client = new HubClient(Server.Hub(() => Task.FromResult<string?>(Token)));
        await client.Connection.StartAsync().WaitAsync(Timeouts.Default);
        return client;
    }
}

public static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);
}
