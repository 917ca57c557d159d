using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChitChat.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real OpenID Connect issuer on loopback for the tests: Kestrel on 127.0.0.1 (a free port) serving
/// <c>/.well-known/openid-configuration</c> and its JWKS (<c>/jwks</c>), RSA keys, and tokens signed with them.
/// Its issuer name is its base address (e.g. <c>http://127.0.0.1:12345</c>), which is also the authority to configure.
/// </summary>
public sealed class TestIssuer : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly WebApplication _app;
    private readonly List<RsaSecurityKey> _published = [];
    private RsaSecurityKey _current;
    private int _jwksRequests;
    private int _disposed;

    private TestIssuer(WebApplication app, RsaSecurityKey key)
    {
        _app = app;
        _current = key;
        _published.Add(key);
    }

    /// <summary>Gets the issuer name and authority: the base address without a trailing slash.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>Gets how many times the JWKS was served.</summary>
    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    /// <summary>Gets the key tokens are signed with by default.</summary>
    public RsaSecurityKey CurrentKey
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public static async Task<TestIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var issuer = new TestIssuer(app, NewKey());
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer.Issuer,
            ["jwks_uri"] = issuer.Issuer + "/jwks",
            ["authorization_endpoint"] = issuer.Issuer + "/authorize",
            ["token_endpoint"] = issuer.Issuer + "/token",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { SecurityAlgorithms.RsaSha256 },
        }));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref issuer._jwksRequests);
            return Results.Json(new { keys = issuer.PublishedKeys().Select(ToJwk).ToArray() });
        });
        await app.StartAsync().WaitAsync(Timeouts.Default);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        issuer.Issuer = address.TrimEnd('/');
        return issuer;
    }

    /// <summary>A fresh RSA key with a random key id, published nowhere.</summary>
    public static RsaSecurityKey NewKey() =>
        new(RSA.Create(2048)) { KeyId = "k-" + Guid.NewGuid().ToString("N")[..12] };

    /// <summary>Rotates: signs with a new key from now on and publishes only it (the old key leaves the JWKS).</summary>
    public RsaSecurityKey Rotate()
    {
        var key = NewKey();
        lock (_gate)
        {
            _current = key;
            _published.Clear();
            _published.Add(key);
        }

        return key;
    }

    /// <summary>Creates a signed token: <c>sub</c> and <c>preferred_username</c> unless <paramref name="claims"/> replaces them.</summary>
    public string CreateToken(
        string? subject,
        string? userName,
        TimeSpan? lifetime = null,
        IDictionary<string, object>? claims = null,
        string audience = "chitchat",
        RsaSecurityKey? key = null,
        string? issuer = null)
    {
        var now = DateTime.UtcNow;
        var all = new Dictionary<string, object>(StringComparer.Ordinal);
        if (subject is not null)
        {
            all["sub"] = subject;
        }

        if (userName is not null)
        {
            all["preferred_username"] = userName;
        }

        foreach (var (name, value) in claims ?? new Dictionary<string, object>())
        {
            all[name] = value;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now.AddMinutes(-1),
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(10)),
            Claims = all,
            SigningCredentials = new SigningCredentials(key ?? CurrentKey, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>Stops the issuer (its address then refuses connections); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync().WaitAsync(Timeouts.Default);
        await _app.DisposeAsync();
    }

    private RsaSecurityKey[] PublishedKeys()
    {
        lock (_gate)
        {
            return [.. _published];
        }
    }

    private static Dictionary<string, string> ToJwk(RsaSecurityKey key)
    {
        var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
        return new Dictionary<string, string>
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = SecurityAlgorithms.RsaSha256,
            ["kid"] = key.KeyId,
            ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
            ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        };
    }
}
