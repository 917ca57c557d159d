using System.Security.Claims;
using ChitChat.AspNetCore.Authentication;
using ChitChat.Contracts;
using ChitChat.Membership;
using Microsoft.AspNetCore.Authorization;

namespace ChitChat.AspNetCore.Authorization;

/// <summary>Authorizes room operations of the HTTP API and the hub through <see cref="IAuthorizationService"/> and turns a denial into the caller's error.</summary>
internal static class RoomAuthorization
{
    /// <summary>Reads the caller's standing in a room and authorizes <paramref name="operation"/> on it.</summary>
    public static async Task<RoomAccess> AuthorizeAsync(
        IAuthorizationService authorization, MembershipService membership, ClaimsPrincipal principal, RoomName room, RoomOperation operation, CancellationToken cancellationToken)
    {
        var identity = ChatClaims.GetIdentity(principal);
        var access = await membership.GetAccessAsync(identity, room, cancellationToken).ConfigureAwait(false);
        var result = await authorization.AuthorizeAsync(principal, access, RoomOperationRequirement.For(operation)).ConfigureAwait(false);
        return result.Succeeded ? access : throw Denied(result, access.IsInvisible ? access.Room.Name : null);
    }

    /// <summary>Authorizes creating a room.</summary>
    public static async Task AuthorizeCreateAsync(IAuthorizationService authorization, ClaimsPrincipal principal, RoomCreation creation)
    {
        var result = await authorization.AuthorizeAsync(principal, creation, RoomOperationRequirement.For(RoomOperation.Create)).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw Denied(result, null);
        }
    }

    private static ChatException Denied(AuthorizationResult result, string? invisibleRoom)
    {
        // ChitChat's own rules carry their error (room_not_found, forbidden, user_not_found, ...); any other denial (an
        // application's handler, or no handler succeeding) is forbidden, unless the room is invisible to the caller.
        var reasons = result.Failure?.FailureReasons ?? [];
        if (reasons.OfType<RoomAccessFailureReason>().FirstOrDefault() is { } ours)
        {
            return ours.Error;
        }

        if (invisibleRoom is not null)
        {
            return RoomAccessRules.RoomNotFound(invisibleRoom);
        }

        var message = reasons.Select(static r => r.Message).FirstOrDefault(static m => !string.IsNullOrWhiteSpace(m)) ?? "The operation is not allowed.";
        return new ChatException(ChatErrorCodes.Forbidden, message);
    }
}
