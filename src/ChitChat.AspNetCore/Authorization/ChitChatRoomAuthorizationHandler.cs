using ChitChat.Membership;
using Microsoft.AspNetCore.Authorization;

namespace ChitChat.AspNetCore.Authorization;

/// <summary>
/// ChitChat's rules as an ASP.NET Core authorization handler: it only applies <see cref="MembershipService"/>'s decision
/// (<see cref="MembershipService.Check"/>); the rules themselves live in Core (<see cref="RoomAccessRules"/>). Registered by
/// <c>AddAspNetCore</c>; applications add handlers of their own beside it.
/// </summary>
/// <param name="membership">The membership service.</param>
public sealed class ChitChatRoomAuthorizationHandler(MembershipService membership) : IAuthorizationHandler
{
    /// <inheritdoc />
    public Task HandleAsync(AuthorizationHandlerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var requirement in context.PendingRequirements.OfType<RoomOperationRequirement>().ToArray())
        {
            switch (context.Resource)
            {
                case RoomAccess access:
                    if (membership.Check(access, requirement.Operation) is { } error)
                    {
                        context.Fail(new RoomAccessFailureReason(this, error));
                    }
                    else
                    {
                        context.Succeed(requirement);
                    }

                    break;
                case RoomCreation:
                    // Anyone signed in may create a room; the name, kind and topic are validated by RoomService.
                    context.Succeed(requirement);
                    break;
            }
        }

        return Task.CompletedTask;
    }
}
