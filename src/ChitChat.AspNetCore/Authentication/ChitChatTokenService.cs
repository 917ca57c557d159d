using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChitChat.AspNetCore.Authentication;

/// <summary>An issued access token.</summary>
/// <param name="AccessToken">The compact JWT.</param>
/// <param name="ExpiresAt">When it expires (UTC).</param>
public readonly record struct IssuedToken(string AccessToken, DateTimeOffset ExpiresAt);

/// <summary>Issues ChitChat access tokens (HMAC-SHA256 JWTs with the user id in <c>sub</c> and the user name in <c>name</c>).</summary>
public sealed class ChitChatTokenService
{
    private readonly SigningKeyProvider _keys;
    private readonly IOptions<ChitChatAspNetCoreOptions> _options;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new();

    internal ChitChatTokenService(SigningKeyProvider keys, IOptions<ChitChatAspNetCoreOptions> options, TimeProvider time)
    {
        _keys = keys;
        _options = options;
        _time = time;
    }

    /// <summary>Creates an access token for a user.</summary>
    /// <param name="user">The user.</param>
    /// <returns>The token and its expiry.</returns>
    public IssuedToken CreateToken(ChatUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var auth = _options.Value.Auth;
        var now = _time.GetUtcNow();
        var expires = now + auth.TokenLifetime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Subject = new ClaimsIdentity(
            [
                new Claim(ChitChatAuthenticationDefaults.UserIdClaim, user.Id.ToString("D")),
                new Claim(ChitChatAuthenticationDefaults.UserNameClaim, user.UserName),
            ]),
            SigningCredentials = new SigningCredentials(_keys.Key, SecurityAlgorithms.HmacSha256),
        };
        return new IssuedToken(_handler.CreateToken(descriptor), expires);
    }
}
