using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.Web.Tests;

/// <summary>The sample web app on real Kestrel (127.0.0.1, dynamic port) with an in-memory store.</summary>
public sealed class ChitChatServer : IAsyncDisposable
{
    public const string SigningKey = "chitchat-web-tests-signing-key-0123456789abcdef";

    private readonly WebApplicationFactory<Program>? _factory;

    private ChitChatServer(WebApplicationFactory<Program>? factory, Uri baseAddress)
    {
        _factory = factory;
        BaseAddress = baseAddress;
    }

    /// <summary>The server's root address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts a server; <paramref name="settings"/> override or add configuration keys.</summary>
    /// <remarks>
    /// With <c>CHITCHAT_WEB_TESTS_URL</c> set, the tests run against that already running server instead (a
    /// development aid; the configuration overrides then do not apply).
    /// </remarks>
    public static ChitChatServer Start(IReadOnlyDictionary<string, string?>? settings = null)
    {
        if (Environment.GetEnvironmentVariable("CHITCHAT_WEB_TESTS_URL") is { Length: > 0 } external)
        {
            return new ChitChatServer(null, new Uri(external));
        }

        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ChitChat:Store", "InMemory");
            builder.UseSetting("ChitChat:Transport", "InProcess");
            builder.UseSetting("ChitChat:PasswordHashIterations", "1000");
            builder.UseSetting("ChitChat:Auth:SigningKey", SigningKey);
            builder.UseSetting("ChitChat:Auth:RateLimit", "0"); // every test signs users up from 127.0.0.1
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                builder.UseSetting(key, value);
            }
        });
        factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("Kestrel exposes no server addresses.");
        var address = addresses.Addresses.Single();
        return new ChitChatServer(factory, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    public ValueTask DisposeAsync() => _factory?.DisposeAsync() ?? ValueTask.CompletedTask;
}
