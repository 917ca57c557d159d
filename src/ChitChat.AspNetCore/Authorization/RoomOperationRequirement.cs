using ChitChat.Membership;
using Microsoft.AspNetCore.Authorization;

namespace ChitChat.AspNetCore.Authorization;

/// <summary>
/// The ASP.NET Core authorization requirement of a room operation. Every room operation of the HTTP API and the hub is
/// authorized with it, resource-based: the resource is a <see cref="RoomAccess"/> (the room and the caller's membership) or,
/// for <see cref="RoomOperation.Create"/>, a <see cref="RoomCreation"/>. ChitChat's own rules are
/// <see cref="ChitChatRoomAuthorizationHandler"/>; an application adds its own rules with its own
/// <see cref="IAuthorizationHandler"/> (e.g. <c>AuthorizationHandler&lt;RoomOperationRequirement, RoomCreation&gt;</c>) that
/// calls <see cref="AuthorizationHandlerContext.Fail()"/> to deny. A denial is reported as <c>forbidden</c> (or
/// <c>room_not_found</c> where the room is invisible to the caller).
/// </summary>
public sealed class RoomOperationRequirement : IAuthorizationRequirement
{
    private static readonly RoomOperationRequirement[] All = Enum.GetValues<RoomOperation>().Select(static o => new RoomOperationRequirement(o)).ToArray();

    private RoomOperationRequirement(RoomOperation operation) => Operation = operation;

    /// <summary>Gets the operation.</summary>
    public RoomOperation Operation { get; }

    /// <summary>Gets the requirement of an operation (one shared instance per operation).</summary>
    /// <param name="operation">The operation.</param>
    /// <returns>The requirement.</returns>
    public static RoomOperationRequirement For(RoomOperation operation) =>
        (int)operation >= 0 && (int)operation < All.Length && All[(int)operation].Operation == operation
            ? All[(int)operation]
            : new RoomOperationRequirement(operation);

    /// <inheritdoc />
    public override string ToString() => $"RoomOperation:{Operation}";
}

/// <summary>A denial by ChitChat's own rules, carrying the error the caller gets.</summary>
/// <param name="handler">The handler that denied.</param>
/// <param name="error">The error.</param>
public sealed class RoomAccessFailureReason(IAuthorizationHandler handler, ChatException error) : AuthorizationFailureReason(handler, error?.Message ?? string.Empty)
{
    /// <summary>Gets the error the caller gets.</summary>
    public ChatException Error { get; } = error ?? throw new ArgumentNullException(nameof(error));
}
