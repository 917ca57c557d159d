using ChitChat.AspNetCore.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(SharedServer))]
