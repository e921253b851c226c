from itprobe.cli import main

main()
