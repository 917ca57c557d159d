namespace ChitChat.Core.Tests;

public class SmokeTests
{
    [Fact]
    public void RoomNamesAreNormalized() => Assert.Equal("global", ChatService.NormalizeRoomName("GLOBAL"));
}
