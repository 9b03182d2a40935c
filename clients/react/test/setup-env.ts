// A shared 2-core machine under load can take seconds where a quiet one takes
// milliseconds: waitFor gives up after 5 s instead of Testing Library's 1 s.
import { configure } from "@testing-library/react";

configure({ asyncUtilTimeout: 5000 });
