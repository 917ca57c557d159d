using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.Testing;

/// <summary>
/// The part every test host of a ChitChat server shares: a web application builder on real Kestrel at 127.0.0.1 and a
/// free port, configured through settings as a user would (test defaults: in-memory store, in-process transport, a fixed
/// signing key, fast password hashing, no rate limits), and starting it to learn its address. Each test project wires
/// ChitChat itself (<c>AddChitChat().AddAspNetCore()</c>, telemetry, …) between the two calls.
/// </summary>
internal static class LoopbackHost
{
    /// <summary>The signing key of the test defaults.</summary>
    public const string SigningKey = "test-signing-key-that-is-long-enough-0123456789";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Creates a builder with the test defaults, then <paramref name="settings"/> on top.</summary>
    /// <param name="settings">Settings that replace or add to the defaults.</param>
    /// <param name="environment">The host environment.</param>
    /// <param name="applicationName">The application name, when the test needs one of its own.</param>
    /// <param name="onlyTheseSettings">When true the machine's environment variables and files are not read.</param>
    public static WebApplicationBuilder CreateBuilder(IReadOnlyDictionary<string, string?>? settings = null, string environment = "Development", string? applicationName = null, bool onlyTheseSettings = false)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ChitChat:Store"] = "InMemory",
            ["ChitChat:Transport"] = "InProcess",
            ["ChitChat:Auth:SigningKey"] = SigningKey,
            ["ChitChat:Auth:RateLimit"] = "0",
            ["ChitChat:SendRateLimit"] = "0",
            ["ChitChat:PasswordHashIterations"] = "1000",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = applicationName,
        });
        if (onlyTheseSettings)
        {
            builder.Configuration.Sources.Clear();
        }

        builder.Configuration.AddInMemoryCollection(all);
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        return builder;
    }

    /// <summary>An HTTP client of a test server, with a bearer token when given.</summary>
    /// <param name="baseAddress">The server's address.</param>
    /// <param name="token">The access token, or <see langword="null"/> for anonymous calls.</param>
    public static HttpClient Http(Uri baseAddress, string? token = null)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Starts <paramref name="app"/> (disposing it when that fails) and returns the address it listens on.</summary>
    public static async Task<Uri> StartAsync(WebApplication app)
    {
        try
        {
            await app.StartAsync().WaitAsync(StartTimeout);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new Uri(address);
    }
}
