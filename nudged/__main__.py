from nudged.cli import main

raise SystemExit(main())
