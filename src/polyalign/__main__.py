from polyalign.cli import main

raise SystemExit(main())
