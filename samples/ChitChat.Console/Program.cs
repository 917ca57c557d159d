Console.WriteLine("ChitChat console (under construction)");
