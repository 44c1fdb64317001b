/// Words for names of containers created without `--name`, as Docker's namesgenerator makes them.
enum ContainerNames {
    static let adjectives = ["admiring", "brave", "clever", "dazzling", "eager", "focused", "gallant", "happy",
                             "inspiring", "jolly", "keen", "loving", "modest", "nifty", "optimistic", "peaceful",
                             "quirky", "relaxed", "serene", "tender", "upbeat", "vibrant", "wizardly", "youthful", "zealous"]
    static let surnames = ["albattani", "babbage", "curie", "darwin", "euclid", "franklin", "galileo", "hopper",
                           "ishizaka", "jennings", "kepler", "lovelace", "mcclintock", "noether", "ohm", "pasteur",
                           "ritchie", "shannon", "turing", "villani", "wozniak", "yalow", "zhukovsky"]
}
