global using ChitChat.Accounts;
global using ChitChat.History;
global using ChitChat.Messaging;
global using ChitChat.Presence;
global using ChitChat.Rooms;
