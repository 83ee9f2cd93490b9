Console.WriteLine("MaeDsl quickstart: not written yet");
return 1;
