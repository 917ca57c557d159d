// Every await here is bounded by its own WaitAsync/timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using ChitChat.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.Console.Tests;

/// <summary>The sample web server on real Kestrel (127.0.0.1, free port) with the in-memory store.</summary>
public sealed class ServerFixture : WebApplicationFactory<Program>
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public Uri Address { get; private set; } = null!;

    public static ServerFixture Start()
    {
        var server = new ServerFixture();
        server.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        server.StartServer();
        var addresses = server.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        server.Address = new Uri(addresses.First());
        return server;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ChitChat:Store", "InMemory");
        builder.UseSetting("ChitChat:PasswordHashIterations", "1000");
        builder.UseSetting("ChitChat:Auth:SigningKey", "console-tests-signing-key-0123456789-abcdefghij");
        builder.UseSetting("ChitChat:SendRateLimit", "0");
        builder.ConfigureLogging(l => l.ClearProviders());
    }

    /// <summary>Registers a user over HTTP.</summary>
    public async Task RegisterAsync(string userName, string password = "password-123")
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = Timeout };
        using var response = await http.PostAsJsonAsync("/api/auth/register", new { userName, password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>Registers and logs in a user, then connects a SignalR client to <paramref name="room"/> that records every <c>message</c> event.</summary>
    public async Task<TestUser> ConnectUserAsync(string userName, string room = "global")
    {
        await RegisterAsync(userName);
        using var http = new HttpClient { BaseAddress = Address, Timeout = Timeout };
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { userName, password = "password-123" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(Address, "/hubs/chat"), o => o.AccessTokenProvider = () => Task.FromResult(token))
            .AddJsonProtocol(o => o.PayloadSerializerOptions = JsonSerializerOptions.Web)
            .Build();
        var user = new TestUser(userName, hub);
        hub.On<MessageDto>("message", m => user.Messages.Writer.TryWrite(m));
        await hub.StartAsync().WaitAsync(Timeout);
        await user.JoinAsync(room);
        return user;
    }
}

/// <summary>A native SignalR participant driven by the test.</summary>
public sealed class TestUser(string name, HubConnection hub) : IAsyncDisposable
{
    public string Name { get; } = name;

    public HubConnection Hub { get; } = hub;

    public Channel<MessageDto> Messages { get; } = Channel.CreateUnbounded<MessageDto>();

    public Task<JsonElement> JoinAsync(string room) => Hub.InvokeAsync<JsonElement>("JoinRoom", room, (long?)null).WaitAsync(ServerFixture.Timeout);

    public async Task<long> SendAsync(string room, string text)
    {
        var ack = await Hub.InvokeAsync<SendMessageAck>("SendMessage", room, text, "t-" + Guid.NewGuid().ToString("N")).WaitAsync(ServerFixture.Timeout);
        return ack.Seq;
    }

    /// <summary>Waits for the next message matching <paramref name="predicate"/>, skipping others.</summary>
    public async Task<MessageDto> WaitForAsync(Func<MessageDto, bool> predicate, string phase)
    {
        using var cts = new CancellationTokenSource(ServerFixture.Timeout);
        try
        {
            while (true)
            {
                var message = await Messages.Reader.ReadAsync(cts.Token);
                if (predicate(message))
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{phase}: {Name} got no matching message within {ServerFixture.Timeout}.");
        }
    }

    public ValueTask DisposeAsync() => Hub.DisposeAsync();
}
