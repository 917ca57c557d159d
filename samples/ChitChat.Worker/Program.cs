Console.WriteLine("ChitChat worker (under construction)");
