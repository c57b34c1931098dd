from degradebench.cli import main

raise SystemExit(main())
