from statemachine.cli import main

raise SystemExit(main())
