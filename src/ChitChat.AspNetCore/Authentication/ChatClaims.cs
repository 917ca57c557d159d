using System.Security.Claims;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Authentication;

/// <summary>Reads the ChitChat identity from a principal. Identity always comes from the validated token, never from a payload.</summary>
public static class ChatClaims
{
    /// <summary>Gets the identity of an authenticated ChitChat user.</summary>
    /// <param name="principal">The principal.</param>
    /// <returns>The identity.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.Unauthorized"/> when the principal carries no ChitChat identity.</exception>
    public static ChatIdentity GetIdentity(ClaimsPrincipal? principal)
    {
        if (TryGetIdentity(principal, out var identity))
        {
            return identity;
        }

        throw new ChatException(ChatErrorCodes.Unauthorized, "A valid bearer token is required.");
    }

    /// <summary>Tries to get the identity of an authenticated ChitChat user.</summary>
    /// <param name="principal">The principal.</param>
    /// <param name="identity">The identity.</param>
    /// <returns><see langword="true"/> when the principal is an authenticated ChitChat user.</returns>
    public static bool TryGetIdentity(ClaimsPrincipal? principal, out ChatIdentity identity)
    {
        identity = default;
        if (principal?.Identity?.IsAuthenticated != true)
        {
            return false;
        }

        var id = principal.FindFirst(ChitChatAuthenticationDefaults.UserIdClaim)?.Value;
        var name = principal.FindFirst(ChitChatAuthenticationDefaults.UserNameClaim)?.Value;
        if (!Guid.TryParse(id, out var userId) || userId == Guid.Empty || string.IsNullOrEmpty(name))
        {
            return false;
        }

        identity = new ChatIdentity(userId, name);
        return true;
    }
}
